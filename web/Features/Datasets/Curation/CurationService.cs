using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets.Curation;

/// <summary>Changes to many images of one dataset at once: relabel, move to a split, delete. Editors and owners;
/// a frozen test split neither gains nor loses images.</summary>
public sealed class CurationService(IDbContextFactory<TransferHubDbContext> dbFactory, DeletionUndo undo, DatasetEvents events, ClientSession session)
{
    public Task<int> RelabelAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, int classId, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, datasetId, imageIds, async (db, dataset, images) =>
        {
            var name = await db.DatasetClasses.Where(c => c.Id == classId && c.DatasetId == datasetId).Select(c => c.Name)
                .FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException("Class");
            foreach (var image in images) image.ClassId = classId;
            return (images.Count, $"relabelled {DatasetEvents.Count(images.Count, "image")} as {name}");
        }, cancellationToken);

    public Task<int> MoveToSplitAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, DatasetSplit split, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, datasetId, imageIds, (db, dataset, images) =>
        {
            if (dataset.TestSplitFrozen && images.Any(i => (i.Split == DatasetSplit.Test) != (split == DatasetSplit.Test)))
                throw new RuleViolationException("The test split is frozen: no image can enter or leave it.");
            foreach (var image in images) image.Split = split;
            return Task.FromResult((images.Count, $"moved {DatasetEvents.Count(images.Count, "image")} to {SplitNames.Of(split)}"));
        }, cancellationToken);

    /// <summary>Removes the images from the dataset. Their files stay in the content store (other datasets may hold
    /// them, and an undo needs them): the receipt's token restores exactly these rows for <see cref="DeletionUndo.Window"/>.</summary>
    public async Task<DeleteReceipt> DeleteAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, CancellationToken cancellationToken = default) =>
        await undo.KeepAsync(await ChangeAsync(userId, datasetId, imageIds, async (db, dataset, images) =>
        {
            if (dataset.TestSplitFrozen && images.Any(i => i.Split == DatasetSplit.Test))
                throw new RuleViolationException("The test split is frozen: its images cannot be deleted.");
            var names = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).ToDictionaryAsync(c => c.Id, c => c.Name, cancellationToken);
            db.DatasetImages.RemoveRange(images);
            return (new DeletionSnapshot(datasetId, [.. images.Select(i => DeletedImage.Of(i, i.ClassId is { } c ? names.GetValueOrDefault(c) : null))]),
                $"deleted {DatasetEvents.Count(images.Count, "image")}");
        }, cancellationToken), cancellationToken);

    /// <summary>
    /// Undoes a delete (of images, or of a class with or without its images) while its window is open: the same rows
    /// come back with the same id, content hash, label, split, name, size, perceptual hash and uploader. A class that
    /// no longer exists is created again under its name (at its old position when the delete removed it); an image
    /// whose content is in the dataset again (uploaded meanwhile) is left as it is. Editors and owners only, checked
    /// again here: the token alone is no permission.
    /// </summary>
    public async Task<RestoreOutcome> RestoreAsync(string userId, int datasetId, Guid undoToken, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var kept = await undo.TakeAsync(undoToken, datasetId, cancellationToken)
            ?? throw new RuleViolationException($"This can no longer be undone: undo lasts {DeletionUndo.Window.TotalMinutes:0} minutes, once.");
        RestoreOutcome outcome;
        try
        {
            outcome = await RestoreAsync(db, dataset, kept.Snapshot, cancellationToken);
        }
        catch
        {
            await undo.PutBackAsync(undoToken, kept, CancellationToken.None);
            throw;
        }
        await events.PublishAsync(db, session, userId, datasetId, $"restored {DatasetEvents.Count(outcome.Images, "image")} (undo)", cancellationToken);
        return outcome;
    }

    private static async Task<RestoreOutcome> RestoreAsync(TransferHubDbContext db, Dataset dataset, DeletionSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (dataset.TestSplitFrozen && snapshot.Images.Any(i => i.Split == DatasetSplit.Test))
            throw new RuleViolationException("The test split was frozen after the delete, so its images cannot come back: unfreeze it, then undo.");
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == dataset.Id).OrderBy(c => c.Ordinal).ToListAsync(cancellationToken);
        var recreated = new List<string>();

        DatasetClass ClassFor(int? id, string name, int? ordinal)
        {
            var found = classes.FirstOrDefault(c => c.Id == id) ?? classes.FirstOrDefault(c => ClassNames.Comparer.Equals(ClassNames.Key(c.Name), ClassNames.Key(name)));
            if (found is not null) return found;
            var at = Math.Min(ordinal ?? classes.Count, classes.Count);
            foreach (var later in classes.Where(c => c.Ordinal >= at)) later.Ordinal++;
            found = new DatasetClass { DatasetId = dataset.Id, Name = name, Ordinal = at };
            db.DatasetClasses.Add(found);
            classes.Insert(at, found);
            recreated.Add(name);
            return found;
        }

        var deletedClass = snapshot.Class is { } dc ? ClassFor(dc.Id, dc.Name, dc.Ordinal) : null;
        var shas = snapshot.Images.Select(i => i.Sha256).ToList();
        var present = (await db.DatasetImages.Where(i => i.DatasetId == dataset.Id && shas.Contains(i.Sha256)).Select(i => i.Sha256)
            .ToListAsync(cancellationToken)).ToHashSet();
        var uploaders = snapshot.Images.Select(i => i.AddedByUserId).OfType<string>().Distinct().ToList();
        var existingUploaders = (await db.Users.Where(u => uploaders.Contains(u.Id)).Select(u => u.Id).ToListAsync(cancellationToken)).ToHashSet();
        var restored = 0;
        foreach (var image in snapshot.Images.Where(i => !present.Contains(i.Sha256)))
        {
            db.DatasetImages.Add(new DatasetImage
            {
                Id = image.Id, // AUTOINCREMENT never hands a deleted id out again, so it is free
                DatasetId = dataset.Id,
                Sha256 = image.Sha256,
                Class = image.ClassId is not { } classId ? null
                    : classId == snapshot.Class?.Id ? deletedClass : ClassFor(classId, image.ClassName ?? $"class {classId}", null),
                Split = image.Split,
                OriginalName = image.OriginalName,
                Width = image.Width,
                Height = image.Height,
                Flagged = image.Flagged,
                PerceptualHash = image.PerceptualHash,
                AddedByUserId = image.AddedByUserId is { } u && existingUploaders.Contains(u) ? u : null,
                AddedAt = image.AddedAt,
            });
            restored++;
        }
        if (deletedClass is not null && snapshot.Unlabelled is { Count: > 0 } unlabelled)
        {
            // Images the class delete left unlabelled get the class back, unless someone labelled them since.
            var images = await db.DatasetImages.Where(i => i.DatasetId == dataset.Id && unlabelled.Contains(i.Id) && i.ClassId == null).ToListAsync(cancellationToken);
            foreach (var image in images) image.Class = deletedClass;
            restored += images.Count;
        }
        await db.SaveChangesAsync(cancellationToken);
        return new RestoreOutcome(restored, present.Count, recreated);
    }

    /// <summary>Loads the images (all of this dataset, or refused), applies <paramref name="change"/>, saves and tells
    /// the dataset's other viewers what the change says it did.</summary>
    private async Task<T> ChangeAsync<T>(string userId, int datasetId, IReadOnlyCollection<long> imageIds,
        Func<TransferHubDbContext, Dataset, List<DatasetImage>, Task<(T Result, string What)>> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && imageIds.Contains(i.Id)).ToListAsync(cancellationToken);
        if (images.Count != imageIds.Distinct().Count())
            throw new NotFoundException("Image");
        var (result, what) = await change(db, dataset, images);
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, what, cancellationToken);
        return result;
    }
}
