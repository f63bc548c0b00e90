using Microsoft.EntityFrameworkCore;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Datasets.Duplicates;

public sealed record DuplicateMember(long ImageId, string Sha256, string OriginalName, string? ClassName, DatasetSplit Split);

/// <summary>Images whose pictures are nearly the same (difference hashes within the threshold, transitively).</summary>
public sealed record DuplicateGroup(IReadOnlyList<DuplicateMember> Images)
{
    /// <summary>Members sit in different splits: the model may be evaluated on pictures it trained on.</summary>
    public bool CrossesSplits => Images.Select(i => i.Split).Where(s => s != DatasetSplit.Unassigned).Distinct().Count() > 1;

    public bool MixedLabels => Images.Select(i => i.ClassName).Distinct().Count() > 1;
}

/// <summary>Finds near-duplicate images of a dataset and resolves them: keep one, or move the group to one split.</summary>
public sealed class DuplicateService(IDbContextFactory<TransferHubDbContext> dbFactory, ImageStore store)
{
    public const int MaxThreshold = 20;

    /// <summary>Groups of near-duplicates, leaking (cross-split) groups first. <paramref name="threshold"/> is the most
    /// differing bits (of 64) for two images to count as the same picture: 0 = identical pixels after shrinking.</summary>
    public async Task<IReadOnlyList<DuplicateGroup>> FindAsync(string userId, int datasetId, int threshold, CancellationToken cancellationToken = default)
    {
        if (threshold is < 0 or > MaxThreshold)
            throw new RuleViolationException($"The threshold must be 0–{MaxThreshold} differing bits.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
            throw new NotFoundException("Dataset");
        await BackfillHashesAsync(db, datasetId, cancellationToken);

        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.PerceptualHash != null).OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.Sha256, i.OriginalName, ClassName = i.Class == null ? null : i.Class.Name, i.Split, Hash = i.PerceptualHash!.Value })
            .ToListAsync(cancellationToken);
        var parent = Enumerable.Range(0, images.Count).ToArray();
        int Root(int x) => parent[x] == x ? x : parent[x] = Root(parent[x]);
        for (var a = 0; a < images.Count; a++)
            for (var b = a + 1; b < images.Count; b++)
                if (ImageDigest.Distance(unchecked((ulong)images[a].Hash), unchecked((ulong)images[b].Hash)) <= threshold)
                    parent[Root(b)] = Root(a);

        return [.. Enumerable.Range(0, images.Count).GroupBy(Root).Where(g => g.Count() > 1)
            .Select(g => new DuplicateGroup([.. g.Select(i => new DuplicateMember(images[i].Id, images[i].Sha256, images[i].OriginalName, images[i].ClassName, images[i].Split))]))
            .OrderByDescending(g => g.CrossesSplits).ThenByDescending(g => g.Images.Count)];
    }

    /// <summary>Keeps <paramref name="keepImageId"/> and removes the other images of its group from the dataset.</summary>
    public async Task<int> KeepOneAsync(string userId, int datasetId, long keepImageId, IReadOnlyCollection<long> groupImageIds, CancellationToken cancellationToken = default)
    {
        if (!groupImageIds.Contains(keepImageId)) throw new RuleViolationException("The image to keep must be one of the group.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var remove = await db.DatasetImages.Where(i => i.DatasetId == datasetId && groupImageIds.Contains(i.Id) && i.Id != keepImageId).ToListAsync(cancellationToken);
        if (dataset.TestSplitFrozen && remove.Any(i => i.Split == DatasetSplit.Test))
            throw new RuleViolationException("The test split is frozen: keep the test image, or unfreeze the test split first.");
        db.DatasetImages.RemoveRange(remove);
        await db.SaveChangesAsync(cancellationToken);
        return remove.Count;
    }

    /// <summary>Moves every image of a group into one split, so near-identical pictures cannot sit on both sides.</summary>
    public async Task MoveToSplitAsync(string userId, int datasetId, IReadOnlyCollection<long> groupImageIds, DatasetSplit split, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && groupImageIds.Contains(i.Id)).ToListAsync(cancellationToken);
        if (dataset.TestSplitFrozen && images.Any(i => (i.Split == DatasetSplit.Test) != (split == DatasetSplit.Test)))
            throw new RuleViolationException("The test split is frozen: no image can enter or leave it.");
        foreach (var image in images) image.Split = split;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Images imported before hashes existed get theirs now (decoded once from the store).</summary>
    private async Task BackfillHashesAsync(TransferHubDbContext db, int datasetId, CancellationToken cancellationToken)
    {
        var missing = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.PerceptualHash == null).ToListAsync(cancellationToken);
        foreach (var image in missing)
        {
            try
            {
                using var decoded = ImageDecoder.Decode(await store.ReadImageAsync(image.Sha256, cancellationToken), image.OriginalName);
                image.PerceptualHash = unchecked((long)ImageDigest.DifferenceHash(decoded));
            }
            catch (Exception e) when (e is ImageDecodeException or IOException)
            {
                // An unreadable stored file is left out of the search rather than failing it.
            }
        }
        if (missing.Count > 0) await db.SaveChangesAsync(cancellationToken);
    }
}
