using Microsoft.EntityFrameworkCore;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Work;
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

/// <summary>Finds near-duplicate images of a dataset (resolving them — keep one, move to one split — is curation:
/// <see cref="Curation.CurationService"/>).</summary>
public sealed class DuplicateService(IDbContextFactory<TransferHubDbContext> dbFactory, ImageStore store)
{
    public const int MaxThreshold = 20;

    /// <summary>The threshold the dataset page starts with, and the one a run's data facts use for train/test leakage:
    /// 6 of 64 bits catches re-encoded, resized and lightly edited copies while distinct photos of a class (typically
    /// 20+ bits apart) stay apart.</summary>
    public const int DefaultThreshold = 6;

    /// <summary>Groups of near-duplicates, leaking (cross-split) groups first. <paramref name="threshold"/> is the most
    /// differing bits (of 64) for two images to count as the same picture: 0 = identical pixels after shrinking.
    /// <paramref name="progress"/> hears each phase ("reading pictures" for images without a hash yet, then "comparing"),
    /// and cancellation is honoured between images.</summary>
    public async Task<IReadOnlyList<DuplicateGroup>> FindAsync(string userId, int datasetId, int threshold, IProgress<WorkStep>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (threshold is < 0 or > MaxThreshold)
            throw new RuleViolationException($"The threshold must be 0–{MaxThreshold} differing bits.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
            throw new NotFoundException("Dataset");
        await BackfillHashesAsync(db, datasetId, progress, cancellationToken);

        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.PerceptualHash != null).OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.Sha256, i.OriginalName, ClassName = i.Class == null ? null : i.Class.Name, i.Split, Hash = i.PerceptualHash!.Value })
            .ToListAsync(cancellationToken);
        var groups = Group([.. images.Select(i => i.Hash)], threshold, progress, cancellationToken);
        return [.. groups
            .Select(g => new DuplicateGroup([.. g.Select(i => new DuplicateMember(images[i].Id, images[i].Sha256, images[i].OriginalName, images[i].ClassName, images[i].Split))]))
            .OrderByDescending(g => g.CrossesSplits).ThenByDescending(g => g.Images.Count)];
    }

    /// <summary>Groups of near-duplicates among difference hashes: indices into <paramref name="hashes"/>, each group of 2+
    /// images whose hashes are within <paramref name="threshold"/> differing bits, transitively (union-find over every
    /// pair: n²/2 popcounts over a plain array).</summary>
    public static IReadOnlyList<IReadOnlyList<int>> Group(IReadOnlyList<long> hashes, int threshold, IProgress<WorkStep>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var bits = hashes.Select(h => unchecked((ulong)h)).ToArray();
        var parent = Enumerable.Range(0, bits.Length).ToArray();
        int Root(int x) => parent[x] == x ? x : parent[x] = Root(parent[x]);
        for (var a = 0; a < bits.Length; a++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (a % 64 == 0) progress?.Report(new WorkStep("comparing", a, bits.Length));
            var ha = bits[a];
            for (var b = a + 1; b < bits.Length; b++)
                if (ImageDigest.Distance(ha, bits[b]) <= threshold)
                    parent[Root(b)] = Root(a);
        }
        progress?.Report(new WorkStep("comparing", bits.Length, bits.Length));
        return [.. Enumerable.Range(0, bits.Length).GroupBy(Root).Where(g => g.Count() > 1).Select(g => (IReadOnlyList<int>)[.. g])];
    }

    /// <summary>For each of <paramref name="probes"/>, the index of the nearest of <paramref name="references"/> within
    /// <paramref name="threshold"/> differing bits, or -1 (|probes| × |references| popcounts over plain arrays). A run's
    /// data facts find held-out images that nearly duplicate a training image with this, at the threshold the dataset
    /// page groups with.</summary>
    public static int[] NearestWithin(IReadOnlyList<long> probes, IReadOnlyList<long> references, int threshold)
    {
        var reference = references.Select(h => unchecked((ulong)h)).ToArray();
        var nearest = new int[probes.Count];
        for (var p = 0; p < probes.Count; p++)
        {
            var probe = unchecked((ulong)probes[p]);
            var (best, bestBits) = (-1, threshold + 1);
            for (var r = 0; r < reference.Length; r++)
            {
                var distance = ImageDigest.Distance(probe, reference[r]);
                if (distance < bestBits) (best, bestBits) = (r, distance);
            }
            nearest[p] = best;
        }
        return nearest;
    }

    /// <summary>Images imported before hashes existed get theirs now (decoded once from the store).</summary>
    private async Task BackfillHashesAsync(TransferHubDbContext db, int datasetId, IProgress<WorkStep>? progress, CancellationToken cancellationToken)
    {
        var missing = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.PerceptualHash == null).ToListAsync(cancellationToken);
        for (var done = 0; done < missing.Count; done++)
        {
            var image = missing[done];
            progress?.Report(new WorkStep("reading pictures", done, missing.Count));
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
