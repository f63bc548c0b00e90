using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets;

/// <summary>A deleted dataset as its team's members still see it: when, whether it can be restored, and its kept runs.</summary>
public sealed record DeletedDataset(int Id, int ProjectId, string Name, string ProjectName, DateTime DeletedAt, int Runs, bool CanRestore,
    DateTimeOffset UndoUntil);

/// <summary>Renaming, deleting and restoring datasets (ADR 019): editors and owners; a delete hides the dataset at once,
/// can be undone for <see cref="Removal.Window"/>, and keeps the dataset's runs.</summary>
public sealed partial class DatasetService
{
    public async Task RenameAsync(string userId, int datasetId, string name, CancellationToken cancellationToken = default)
    {
        var datasetName = Names.Require(name, Dataset.NameMaxLength, "A dataset");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        if (dataset.Name == datasetName) return;
        await EnsureUniqueAsync(db, dataset.ProjectId, datasetName, exceptId: datasetId, cancellationToken);
        dataset.Name = datasetName;
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, $"renamed the dataset to \"{datasetName}\"", cancellationToken);
    }

    /// <summary>What deleting the dataset would take (its images) and keep (its runs); null when the caller cannot see it.</summary>
    public async Task<RemovalImpact?> RemovalImpactAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).Datasets.Where(d => d.Id == datasetId)
            .Select(d => new { d.Name, Images = d.Images.Count }).FirstOrDefaultAsync(cancellationToken);
        if (dataset is null) return null;
        var runs = db.Jobs.Where(j => j.DatasetId == datasetId);
        return new RemovalImpact(dataset.Name, 1, dataset.Images, await runs.CountAsync(cancellationToken),
            await Removal.Active(runs).CountAsync(cancellationToken));
    }

    /// <summary>Deletes the dataset: it disappears at once for everyone, and <see cref="RestoreAsync"/> brings it back
    /// unchanged until the receipt's <see cref="RemovalReceipt.UndoUntil"/>. After that its classes and images are
    /// removed; its runs stay (results, models, reports and the images they were evaluated on), marked as of a deleted
    /// dataset. Refused while one of its runs is queued or training.</summary>
    public async Task<RemovalReceipt> DeleteAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // BEGIN IMMEDIATE (SQLite): no run can be queued between the check below and the delete.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        await Removal.RefuseWhileActiveAsync(db.Jobs.Where(j => j.DatasetId == datasetId), "This dataset", cancellationToken);
        dataset.DeletedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, "deleted the dataset", cancellationToken);
        return new RemovalReceipt(datasetId, dataset.Name, Removal.Until(dataset.DeletedAt.Value));
    }

    /// <summary>Undoes <see cref="DeleteAsync"/> within its window: the dataset comes back exactly as it was (under
    /// "name (restored)" when a new dataset took its name meanwhile). Editors and owners; returns the name.</summary>
    public async Task<string> RestoreAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDeletedDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        if (!Removal.CanUndo(dataset.DeletedAt!.Value, clock.GetUtcNow()))
            throw new RuleViolationException(Removal.Expired);
        dataset.Name = await Removal.FreeNameAsync(dataset.Name, Dataset.NameMaxLength,
            candidate => db.Datasets.AnyAsync(d => d.ProjectId == dataset.ProjectId && d.DeletedAt == null && d.Name == candidate, cancellationToken));
        dataset.DeletedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, "restored the dataset (undo)", cancellationToken);
        return dataset.Name;
    }

    /// <summary>A deleted dataset of a project that exists, as a member of its team sees it; null for anyone else, and
    /// for a dataset that is not deleted (or never existed).</summary>
    public async Task<DeletedDataset?> GetDeletedAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var deleted = await access.DeletedDatasets.Where(d => d.Id == datasetId)
            .Select(d => new { d.Id, d.ProjectId, d.Name, ProjectName = d.Project!.Name, d.Project.TeamId, DeletedAt = d.DeletedAt!.Value })
            .FirstOrDefaultAsync(cancellationToken);
        if (deleted is null) return null;
        var role = await access.RoleInAsync(deleted.TeamId, cancellationToken);
        var runs = await db.Jobs.CountAsync(j => j.DatasetId == datasetId, cancellationToken);
        return new DeletedDataset(deleted.Id, deleted.ProjectId, deleted.Name, deleted.ProjectName, deleted.DeletedAt, runs,
            role?.Allows(TeamPermission.EditContent) == true && Removal.CanUndo(deleted.DeletedAt, clock.GetUtcNow()),
            Removal.Until(deleted.DeletedAt));
    }

    private static async Task EnsureUniqueAsync(TransferHubDbContext db, int projectId, string name, int? exceptId, CancellationToken cancellationToken)
    {
        if (await db.Datasets.AnyAsync(d => d.ProjectId == projectId && d.Id != exceptId && d.DeletedAt == null && d.Name == name, cancellationToken))
            throw new RuleViolationException($"The project already has a dataset named \"{name}\".");
    }
}
