using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets.Curation;

/// <summary>Changes to many images of one dataset at once: relabel, move to a split, delete. Editors and owners;
/// a frozen test split neither gains nor loses images.</summary>
public sealed class CurationService(IDbContextFactory<TransferHubDbContext> dbFactory)
{
    public Task<int> RelabelAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, int classId, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, datasetId, imageIds, async (db, dataset, images) =>
        {
            if (!await db.DatasetClasses.AnyAsync(c => c.Id == classId && c.DatasetId == datasetId, cancellationToken))
                throw new NotFoundException("Class");
            foreach (var image in images) image.ClassId = classId;
        }, cancellationToken);

    public Task<int> MoveToSplitAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, DatasetSplit split, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, datasetId, imageIds, (db, dataset, images) =>
        {
            if (dataset.TestSplitFrozen && images.Any(i => (i.Split == DatasetSplit.Test) != (split == DatasetSplit.Test)))
                throw new RuleViolationException("The test split is frozen: no image can enter or leave it.");
            foreach (var image in images) image.Split = split;
            return Task.CompletedTask;
        }, cancellationToken);

    /// <summary>Removes the images from the dataset (their files stay in the content store for other datasets).</summary>
    public Task<int> DeleteAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, datasetId, imageIds, (db, dataset, images) =>
        {
            if (dataset.TestSplitFrozen && images.Any(i => i.Split == DatasetSplit.Test))
                throw new RuleViolationException("The test split is frozen: its images cannot be deleted.");
            db.DatasetImages.RemoveRange(images);
            return Task.CompletedTask;
        }, cancellationToken);

    private async Task<int> ChangeAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds,
        Func<TransferHubDbContext, Dataset, List<DatasetImage>, Task> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && imageIds.Contains(i.Id)).ToListAsync(cancellationToken);
        if (images.Count != imageIds.Distinct().Count())
            throw new NotFoundException("Image");
        await change(db, dataset, images);
        await db.SaveChangesAsync(cancellationToken);
        return images.Count;
    }
}
