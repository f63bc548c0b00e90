using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets.Curation;

/// <summary>What happens to a deleted class's images.</summary>
public enum ClassImagesOnDelete { Unlabel, DeleteImages }

/// <summary>Adds, renames, merges and deletes a dataset's classes (editors and owners). Ordinals stay 0..n-1. Names are
/// read by <see cref="ClassNames.Normalize"/> and compared ordinally (NFC, case-sensitive), as the import does.</summary>
public sealed class ClassService(IDbContextFactory<TransferHubDbContext> dbFactory, DeletionUndo undo, DatasetEvents events, ClientSession session)
{
    public async Task<int> AddAsync(string userId, int datasetId, string name, CancellationToken cancellationToken = default)
    {
        var (className, _) = ClassNames.Normalize(name);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).ToListAsync(cancellationToken);
        EnsureUnique(classes, className, exceptId: null);
        var added = new DatasetClass { DatasetId = datasetId, Name = className, Ordinal = classes.Count };
        db.DatasetClasses.Add(added);
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, $"added class \"{className}\"", cancellationToken);
        return added.Id;
    }

    public async Task RenameAsync(string userId, int datasetId, int classId, string name, CancellationToken cancellationToken = default)
    {
        var (className, _) = ClassNames.Normalize(name);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).ToListAsync(cancellationToken);
        var renamed = classes.FirstOrDefault(c => c.Id == classId) ?? throw new NotFoundException("Class");
        EnsureUnique(classes, className, exceptId: classId);
        var oldName = renamed.Name;
        renamed.Name = className;
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, $"renamed class \"{oldName}\" to \"{className}\"", cancellationToken);
    }

    /// <summary>Moves every image of <paramref name="fromClassId"/> into <paramref name="intoClassId"/> and removes the first.</summary>
    public async Task<int> MergeAsync(string userId, int datasetId, int fromClassId, int intoClassId, CancellationToken cancellationToken = default)
    {
        if (fromClassId == intoClassId) throw new RuleViolationException("A class cannot be merged into itself.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).ToListAsync(cancellationToken);
        var from = classes.FirstOrDefault(c => c.Id == fromClassId) ?? throw new NotFoundException("Class");
        var into = classes.FirstOrDefault(c => c.Id == intoClassId) ?? throw new NotFoundException("Class");
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.ClassId == fromClassId).ToListAsync(cancellationToken);
        foreach (var image in images) image.ClassId = intoClassId;
        await RemoveAsync(db, classes, from, cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId,
            $"merged class \"{from.Name}\" into \"{into.Name}\" ({DatasetEvents.Count(images.Count, "image")} relabelled)", cancellationToken);
        return images.Count;
    }

    /// <summary>Deletes a class; its images are unlabelled or deleted, as the caller chose. The receipt's token undoes
    /// both (<see cref="CurationService.RestoreAsync"/>) for <see cref="DeletionUndo.Window"/>.</summary>
    public async Task<DeleteReceipt> DeleteAsync(string userId, int datasetId, int classId, ClassImagesOnDelete images, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).ToListAsync(cancellationToken);
        var deleted = classes.FirstOrDefault(c => c.Id == classId) ?? throw new NotFoundException("Class");
        var members = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.ClassId == classId).ToListAsync(cancellationToken);
        if (images == ClassImagesOnDelete.DeleteImages)
        {
            if (dataset.TestSplitFrozen && members.Any(i => i.Split == DatasetSplit.Test))
                throw new RuleViolationException("The test split is frozen: this class's test images cannot be deleted (unlabel them instead).");
            db.DatasetImages.RemoveRange(members);
        }
        else
        {
            foreach (var image in members) image.ClassId = null;
        }
        var was = new DeletedClass(deleted.Id, deleted.Name, deleted.Ordinal);
        await RemoveAsync(db, classes, deleted, cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, images == ClassImagesOnDelete.DeleteImages
            ? $"deleted class \"{was.Name}\" and its {DatasetEvents.Count(members.Count, "image")}"
            : $"deleted class \"{was.Name}\" ({DatasetEvents.Count(members.Count, "image")} left unlabelled)", cancellationToken);
        return await undo.KeepAsync(images == ClassImagesOnDelete.DeleteImages
            ? new DeletionSnapshot(datasetId, [.. members.Select(i => DeletedImage.Of(i, was.Name))], was)
            : new DeletionSnapshot(datasetId, [], was, [.. members.Select(i => i.Id)]), cancellationToken);
    }

    private static async Task RemoveAsync(TransferHubDbContext db, List<DatasetClass> classes, DatasetClass removed, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken); // images leave the class before the class goes (the database refuses otherwise)
        db.DatasetClasses.Remove(removed);
        var ordinal = 0;
        foreach (var c in classes.Where(c => c.Id != removed.Id)) c.Ordinal = ordinal++;
        await db.SaveChangesAsync(cancellationToken);
    }

    private static void EnsureUnique(List<DatasetClass> classes, string name, int? exceptId)
    {
        if (classes.Any(c => c.Id != exceptId && ClassNames.Comparer.Equals(ClassNames.Key(c.Name), name)))
            throw new RuleViolationException($"The dataset already has a class named \"{name}\".");
    }
}
