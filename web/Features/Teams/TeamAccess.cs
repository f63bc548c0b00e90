using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

/// <summary>
/// The one place that decides what a user may see and change of team-owned data (ADR 005). Every feature
/// service makes one per call, for the calling user, on its own DbContext:
/// <list type="bullet">
/// <item>Reads go through the <c>IQueryable</c> properties, which only ever contain rows of teams the user
/// belongs to. Filtering in the query (not after it) means a forgotten check shows nothing rather than
/// everything.</item>
/// <item>Changes go through <c>Require…Async</c>, which loads the row and checks the role: a non-member gets
/// <see cref="NotFoundException"/>, exactly like a missing id, so ids reveal nothing; a member whose role is too
/// weak gets <see cref="ForbiddenException"/>.</item>
/// </list>
/// A new team-owned entity needs one line below saying how to reach its team id. Deleted projects and datasets (kept
/// for a while so a delete can be undone, ADR 019) are left out of everything but <c>Deleted…</c>.
/// </summary>
public sealed class TeamAccess
{
    private readonly TransferHubDbContext _db;
    private readonly IQueryable<TeamMember> _myMemberships;

    public TeamAccess(TransferHubDbContext db, string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        _db = db;
        UserId = userId;
        _myMemberships = db.TeamMembers.Where(m => m.UserId == userId);
    }

    public string UserId { get; }

    public IQueryable<Team> Teams => Visible(_db.Teams, t => t.Id);
    public IQueryable<TeamMember> Members => Visible(_db.TeamMembers, m => m.TeamId);
    public IQueryable<Project> Projects => Visible(LiveProjects, p => p.TeamId);
    public IQueryable<Dataset> Datasets => Visible(LiveDatasets, d => d.Project!.TeamId);
    public IQueryable<DatasetClass> DatasetClasses => Visible(
        _db.DatasetClasses.Where(c => c.Dataset!.DeletedAt == null && c.Dataset.Project!.DeletedAt == null), c => c.Dataset!.Project!.TeamId);
    public IQueryable<DatasetImage> DatasetImages => Visible(
        _db.DatasetImages.Where(i => i.Dataset!.DeletedAt == null && i.Dataset.Project!.DeletedAt == null), i => i.Dataset!.Project!.TeamId);
    /// <summary>Runs of the caller's projects, including those of a deleted dataset: they are kept (ADR 019).</summary>
    public IQueryable<TrainingJob> Jobs => Visible(_db.Jobs.Where(j => j.Dataset!.Project!.DeletedAt == null), j => j.Dataset!.Project!.TeamId);

    /// <summary>Deleted projects and datasets of the caller's teams (in a project that itself still exists), for undo and
    /// for saying what became of them; everything above leaves them out (ADR 019).</summary>
    public IQueryable<Project> DeletedProjects => Visible(_db.Projects.Where(p => p.DeletedAt != null), p => p.TeamId);
    public IQueryable<Dataset> DeletedDatasets =>
        Visible(_db.Datasets.Where(d => d.DeletedAt != null && d.Project!.DeletedAt == null), d => d.Project!.TeamId);

    private IQueryable<Project> LiveProjects => _db.Projects.Where(p => p.DeletedAt == null);
    private IQueryable<Dataset> LiveDatasets => _db.Datasets.Where(d => d.DeletedAt == null && d.Project!.DeletedAt == null);

    /// <summary>The caller's role in a team, or null when they are not a member (or there is no such team).</summary>
    public async Task<TeamRole?> RoleInAsync(int teamId, CancellationToken cancellationToken = default) =>
        await _myMemberships.Where(m => m.TeamId == teamId).Select(m => (TeamRole?)m.Role).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Checks that the caller may do something in a team; returns their role.</summary>
    /// <exception cref="NotFoundException">Not a member, or no such team.</exception>
    /// <exception cref="ForbiddenException">A member whose role does not allow it.</exception>
    public async Task<TeamRole> DemandAsync(int teamId, TeamPermission permission, CancellationToken cancellationToken = default)
    {
        var role = await RoleInAsync(teamId, cancellationToken) ?? throw new NotFoundException("Team");
        if (!role.Allows(permission))
            throw new ForbiddenException(permission switch
            {
                TeamPermission.ManageMembers => "Only a team owner can manage members.",
                _ => $"As a {role.ToString().ToLowerInvariant()} of this team you can look but not change anything.",
            });
        return role;
    }

    public Task<Team> RequireTeamAsync(int teamId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(_db.Teams, t => t.Id, t => t.Id == teamId, permission, "Team", cancellationToken);

    public Task<Project> RequireProjectAsync(int projectId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(LiveProjects, p => p.TeamId, p => p.Id == projectId, permission, "Project", cancellationToken);

    public Task<Dataset> RequireDatasetAsync(int datasetId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(LiveDatasets, d => d.Project!.TeamId, d => d.Id == datasetId, permission, "Dataset", cancellationToken);

    public Task<TrainingJob> RequireJobAsync(int jobId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(_db.Jobs.Where(j => j.Dataset!.Project!.DeletedAt == null), j => j.Dataset!.Project!.TeamId, j => j.Id == jobId,
            permission, "Run", cancellationToken);

    /// <summary>A deleted project, to restore it (<see cref="DeletedProjects"/>).</summary>
    public Task<Project> RequireDeletedProjectAsync(int projectId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(_db.Projects.Where(p => p.DeletedAt != null), p => p.TeamId, p => p.Id == projectId, permission, "Project", cancellationToken);

    /// <summary>A deleted dataset of a project that exists, to restore it (<see cref="DeletedDatasets"/>).</summary>
    public Task<Dataset> RequireDeletedDatasetAsync(int datasetId, TeamPermission permission, CancellationToken cancellationToken = default) =>
        RequireAsync(_db.Datasets.Where(d => d.DeletedAt != null && d.Project!.DeletedAt == null), d => d.Project!.TeamId, d => d.Id == datasetId,
            permission, "Dataset", cancellationToken);

    /// <summary>Loads (tracked) the one visible row matching <paramref name="match"/> after checking the caller's
    /// role in its team.</summary>
    private async Task<T> RequireAsync<T>(IQueryable<T> source, Expression<Func<T, int>> teamIdOf,
        Expression<Func<T, bool>> match, TeamPermission permission, string thing, CancellationToken cancellationToken)
        where T : class
    {
        var found = await Visible(source, teamIdOf).Where(match).Select(WithTeamId(teamIdOf))
            .FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException(thing);
        await DemandAsync(found.TeamId, permission, cancellationToken);
        return found.Row;
    }

    /// <summary><paramref name="source"/> limited to rows whose team has the caller as a member.</summary>
    private IQueryable<T> Visible<T>(IQueryable<T> source, Expression<Func<T, int>> teamIdOf)
    {
        // row => _myMemberships.Any(m => m.TeamId == teamIdOf(row)), built by substituting teamIdOf's body.
        var member = Expression.Parameter(typeof(TeamMember), "m");
        var sameTeam = Expression.Lambda<Func<TeamMember, bool>>(
            Expression.Equal(Expression.Property(member, nameof(TeamMember.TeamId)), teamIdOf.Body), member);
        var any = Expression.Call(typeof(Queryable), nameof(Queryable.Any), [typeof(TeamMember)],
            _myMemberships.Expression, Expression.Quote(sameTeam));
        return source.Where(Expression.Lambda<Func<T, bool>>(any, teamIdOf.Parameters));
    }

    private static Expression<Func<T, Owned<T>>> WithTeamId<T>(Expression<Func<T, int>> teamIdOf) =>
        Expression.Lambda<Func<T, Owned<T>>>(
            Expression.MemberInit(Expression.New(typeof(Owned<T>)),
                Expression.Bind(typeof(Owned<T>).GetProperty(nameof(Owned<T>.Row))!, teamIdOf.Parameters[0]),
                Expression.Bind(typeof(Owned<T>).GetProperty(nameof(Owned<T>.TeamId))!, teamIdOf.Body)),
            teamIdOf.Parameters);

    private sealed class Owned<T>
    {
        public T Row { get; set; } = default!;
        public int TeamId { get; set; }
    }
}
