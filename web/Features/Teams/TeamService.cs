using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

public sealed record TeamSummary(int Id, string Name, TeamRole MyRole, int MemberCount, int ProjectCount);

public sealed record TeamMemberView(string UserId, string Email, TeamRole Role, DateTime AddedAt);

public sealed record TeamDetails(int Id, string Name, TeamRole MyRole, IReadOnlyList<TeamMemberView> Members)
{
    public bool CanManageMembers => MyRole.Allows(TeamPermission.ManageMembers);
    public bool CanEditContent => MyRole.Allows(TeamPermission.EditContent);
}

/// <summary>Teams and their members, seen by one user (<c>userId</c> is always the signed-in caller).</summary>
public sealed class TeamService(IDbContextFactory<TransferHubDbContext> dbFactory, ILookupNormalizer normalizer, TimeProvider clock)
{
    public async Task<IReadOnlyList<TeamSummary>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var teams = await access.Teams
            .Select(t => new TeamSummary(t.Id, t.Name, t.Members.First(m => m.UserId == userId).Role,
                t.Members.Count, t.Projects.Count(p => p.DeletedAt == null)))
            .ToListAsync(cancellationToken);
        return [.. teams.OrderBy(t => t.Name, StringComparer.CurrentCultureIgnoreCase)];
    }

    /// <summary>The team with its members, or null if there is no such team or the caller is not a member.</summary>
    public async Task<TeamDetails?> GetAsync(string userId, int teamId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var team = await access.Teams.Where(t => t.Id == teamId)
            .Select(t => new { t.Id, t.Name })
            .FirstOrDefaultAsync(cancellationToken);
        if (team is null)
            return null;
        var members = await access.Members.Where(m => m.TeamId == teamId)
            .Select(m => new TeamMemberView(m.UserId, m.User!.Email ?? m.User.UserName ?? m.UserId, m.Role, m.AddedAt))
            .ToListAsync(cancellationToken);
        var myRole = members.Single(m => m.UserId == userId).Role;
        return new TeamDetails(team.Id, team.Name, myRole,
            [.. members.OrderBy(m => m.Role).ThenBy(m => m.Email, StringComparer.OrdinalIgnoreCase)]);
    }

    /// <summary>Creates a team with the caller as its owner; returns its id.</summary>
    public async Task<int> CreateAsync(string userId, string name, CancellationToken cancellationToken = default)
    {
        var teamName = Names.Require(name, Team.NameMaxLength, "A team");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var team = new Team { Name = teamName, CreatedAt = now };
        team.Members.Add(new TeamMember { UserId = userId, Role = TeamRole.Owner, AddedAt = now });
        db.Teams.Add(team);
        await db.SaveChangesAsync(cancellationToken);
        return team.Id;
    }

    /// <summary>Adds an existing account, found by email, to the team. Owners only.</summary>
    public async Task AddMemberAsync(string userId, int teamId, string email, TeamRole role, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.ManageMembers, cancellationToken);

        var normalized = normalizer.NormalizeEmail(email.Trim());
        var user = await db.Users.Where(u => u.NormalizedEmail == normalized).Select(u => new { u.Id })
            .FirstOrDefaultAsync(cancellationToken)
            ?? throw new RuleViolationException($"There is no account with the email {email.Trim()}: they need to register first.");
        if (await db.TeamMembers.AnyAsync(m => m.TeamId == teamId && m.UserId == user.Id, cancellationToken))
            throw new RuleViolationException($"{email.Trim()} is already a member of this team.");

        db.TeamMembers.Add(new TeamMember { TeamId = teamId, UserId = user.Id, Role = role, AddedAt = clock.GetUtcNow().UtcDateTime });
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Changes a member's role. Owners only; the last owner cannot be demoted.</summary>
    public Task ChangeRoleAsync(string userId, int teamId, string memberUserId, TeamRole role, CancellationToken cancellationToken = default) =>
        ChangeMembershipAsync(userId, teamId, memberUserId, async (db, member) =>
        {
            if (member.Role == TeamRole.Owner && role != TeamRole.Owner)
                await LastOwnerCheck(db, member, "demoted");
            member.Role = role;
        }, cancellationToken);

    /// <summary>Removes a member. Owners only; the last owner cannot be removed.</summary>
    public Task RemoveMemberAsync(string userId, int teamId, string memberUserId, CancellationToken cancellationToken = default) =>
        ChangeMembershipAsync(userId, teamId, memberUserId, async (db, member) =>
        {
            if (member.Role == TeamRole.Owner)
                await LastOwnerCheck(db, member, "removed");
            db.TeamMembers.Remove(member);
        }, cancellationToken);

    private async Task ChangeMembershipAsync(string userId, int teamId, string memberUserId,
        Func<TransferHubDbContext, TeamMember, Task> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // The owner count read below cannot go stale before the write commits (SQLite's BEGIN IMMEDIATE; PostgreSQL's lock
        // on the team's row), so two owners demoting each other at once cannot leave the team without one.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockTeamAsync(teamId, cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.ManageMembers, cancellationToken);
        var member = await db.TeamMembers.FirstOrDefaultAsync(m => m.TeamId == teamId && m.UserId == memberUserId, cancellationToken)
            ?? throw new NotFoundException("Member");
        await change(db, member);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task LastOwnerCheck(TransferHubDbContext db, TeamMember owner, string what)
    {
        var owners = await db.TeamMembers.CountAsync(m => m.TeamId == owner.TeamId && m.Role == TeamRole.Owner);
        if (owners <= 1)
            throw new RuleViolationException($"The last owner cannot be {what}: make another member an owner first.");
    }
}
