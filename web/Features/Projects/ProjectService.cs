using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Projects;

public sealed record ProjectSummary(int Id, int TeamId, string TeamName, string Name, string Description,
    DateTime CreatedAt, TeamRole MyRole)
{
    public bool CanEdit => MyRole.Allows(TeamPermission.EditContent);
}

/// <summary>A team the caller may create projects in.</summary>
public sealed record TeamChoice(int Id, string Name);

/// <summary>Projects of the caller's teams (<c>userId</c> is always the signed-in caller).</summary>
public sealed class ProjectService(IDbContextFactory<TransferHubDbContext> dbFactory, TimeProvider clock)
{
    /// <summary>The caller's projects, of one team or of all their teams, by team then name.</summary>
    public async Task<IReadOnlyList<ProjectSummary>> ListAsync(string userId, int? teamId = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var projects = new TeamAccess(db, userId).Projects;
        if (teamId is { } id)
            projects = projects.Where(p => p.TeamId == id);
        var list = await projects.Select(Summary(userId)).ToListAsync(cancellationToken);
        return [.. list.OrderBy(p => p.TeamName, StringComparer.CurrentCultureIgnoreCase)
            .ThenBy(p => p.Name, StringComparer.CurrentCultureIgnoreCase)];
    }

    /// <summary>The project, or null if there is none with this id in the caller's teams.</summary>
    public async Task<ProjectSummary?> GetAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await new TeamAccess(db, userId).Projects.Where(p => p.Id == projectId)
            .Select(Summary(userId)).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>Teams where the caller is an Editor or Owner.</summary>
    public async Task<IReadOnlyList<TeamChoice>> TeamsForNewProjectAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var teams = await new TeamAccess(db, userId).Teams
            .Select(t => new { t.Id, t.Name, t.Members.First(m => m.UserId == userId).Role })
            .ToListAsync(cancellationToken);
        return [.. teams.Where(t => t.Role.Allows(TeamPermission.EditContent))
            .OrderBy(t => t.Name, StringComparer.CurrentCultureIgnoreCase)
            .Select(t => new TeamChoice(t.Id, t.Name))];
    }

    public async Task<int> CreateAsync(string userId, int teamId, string name, string? description, CancellationToken cancellationToken = default)
    {
        var projectName = Names.Require(name, Project.NameMaxLength, "A project");
        var text = Description(description);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.EditContent, cancellationToken);
        await EnsureUniqueAsync(db, teamId, projectName, exceptId: null, cancellationToken);

        var project = new Project { TeamId = teamId, Name = projectName, Description = text, CreatedAt = clock.GetUtcNow().UtcDateTime };
        db.Projects.Add(project);
        await db.SaveChangesAsync(cancellationToken);
        return project.Id;
    }

    /// <summary>Renames the project and replaces its description.</summary>
    public async Task UpdateAsync(string userId, int projectId, string name, string? description, CancellationToken cancellationToken = default)
    {
        var projectName = Names.Require(name, Project.NameMaxLength, "A project");
        var text = Description(description);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var project = await new TeamAccess(db, userId).RequireProjectAsync(projectId, TeamPermission.EditContent, cancellationToken);
        await EnsureUniqueAsync(db, project.TeamId, projectName, exceptId: project.Id, cancellationToken);
        project.Name = projectName;
        project.Description = text;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>What deleting the project would take with it; null when the caller cannot see it.</summary>
    public async Task<RemovalImpact?> RemovalImpactAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var project = await new TeamAccess(db, userId).Projects.Where(p => p.Id == projectId)
            .Select(p => new
            {
                p.Name,
                Datasets = p.Datasets.Count(d => d.DeletedAt == null),
                Images = p.Datasets.Where(d => d.DeletedAt == null).Sum(d => d.Images.Count),
            })
            .FirstOrDefaultAsync(cancellationToken);
        if (project is null) return null;
        var runs = db.Jobs.Where(j => j.Dataset!.ProjectId == projectId);
        return new RemovalImpact(project.Name, project.Datasets, project.Images, await runs.CountAsync(cancellationToken),
            await Removal.Active(runs).CountAsync(cancellationToken));
    }

    /// <summary>Deletes the project with everything in it (datasets, their classes, images and runs): it disappears at
    /// once for everyone, and <see cref="RestoreAsync"/> brings it back unchanged until the receipt's
    /// <see cref="RemovalReceipt.UndoUntil"/>; after that it is removed for good. Refused while one of its runs is queued
    /// or training.</summary>
    public async Task<RemovalReceipt> DeleteAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // BEGIN IMMEDIATE (SQLite): no run can be queued between the check below and the delete.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var project = await new TeamAccess(db, userId).RequireProjectAsync(projectId, TeamPermission.EditContent, cancellationToken);
        await Removal.RefuseWhileActiveAsync(db.Jobs.Where(j => j.Dataset!.ProjectId == projectId), "This project", cancellationToken);
        project.DeletedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new RemovalReceipt(projectId, project.Name, Removal.Until(project.DeletedAt.Value));
    }

    /// <summary>Undoes <see cref="DeleteAsync"/> within its window: the project comes back with everything in it (under
    /// "name (restored)" when a new project of the team took its name meanwhile). Editors and owners; returns the name.</summary>
    public async Task<string> RestoreAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var project = await new TeamAccess(db, userId).RequireDeletedProjectAsync(projectId, TeamPermission.EditContent, cancellationToken);
        if (!Removal.CanUndo(project.DeletedAt!.Value, clock.GetUtcNow()))
            throw new RuleViolationException(Removal.Expired);
        project.Name = await Removal.FreeNameAsync(project.Name, Project.NameMaxLength,
            candidate => IsTakenAsync(db, project.TeamId, candidate, exceptId: project.Id, cancellationToken));
        project.DeletedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return project.Name;
    }

    private static System.Linq.Expressions.Expression<Func<Project, ProjectSummary>> Summary(string userId) =>
        p => new ProjectSummary(p.Id, p.TeamId, p.Team!.Name, p.Name, p.Description, p.CreatedAt,
            p.Team.Members.First(m => m.UserId == userId).Role);

    private static string Description(string? description)
    {
        var text = description?.Trim() ?? "";
        return text.Length <= Project.DescriptionMaxLength ? text
            : throw new RuleViolationException($"A project description can have at most {Project.DescriptionMaxLength} characters.");
    }

    private static async Task EnsureUniqueAsync(TransferHubDbContext db, int teamId, string name, int? exceptId, CancellationToken cancellationToken)
    {
        if (await IsTakenAsync(db, teamId, name, exceptId, cancellationToken))
            throw new RuleViolationException($"This team already has a project named \"{name}\".");
    }

    /// <summary>Whether another existing project of the team has this name (ignoring case).</summary>
    private static Task<bool> IsTakenAsync(TransferHubDbContext db, int teamId, string name, int? exceptId, CancellationToken cancellationToken) =>
        db.Projects.Where(p => p.TeamId == teamId && p.Id != exceptId && p.DeletedAt == null)
            .AnyAsync(p => p.Name.ToLower() == name.ToLower(), cancellationToken);
}
