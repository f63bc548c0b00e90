using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets.Splits;

/// <summary>Fractions of each class that go to train, validation and test (they must add up to 1).</summary>
public sealed record SplitRatios(double Train, double Val, double Test)
{
    public static readonly SplitRatios Default = new(0.7, 0.15, 0.15);
}

/// <summary>What a split changed.</summary>
public sealed record SplitOutcome(int Train, int Val, int Test, int Moved, bool TestKept);

/// <summary>
/// Stratified splits (per class, seeded), the frozen test split, and the dataset's content version: a hash of every
/// (image, label, split) row that jobs record, so a run says exactly which data it saw.
/// </summary>
public sealed class DatasetSplitService(IDbContextFactory<TransferHubDbContext> dbFactory, DatasetEvents events, ClientSession session)
{
    /// <summary>
    /// Splits every labelled image class by class: each class's images (in a seeded random order) go to test, then
    /// validation, then train by <paramref name="ratios"/>. With a frozen test split, test images stay where they are,
    /// no other image enters test, and the rest is divided between train and validation in the same proportions.
    /// <paramref name="onlyUnsplit"/> divides only the labelled images that are in no split yet (added after a split),
    /// leaving every other image where it is.
    /// </summary>
    public async Task<SplitOutcome> SplitAsync(string userId, int datasetId, SplitRatios ratios, int seed, CancellationToken cancellationToken = default) =>
        await SplitAsync(userId, datasetId, ratios, seed, onlyUnsplit: false, cancellationToken);

    /// <inheritdoc cref="SplitAsync(string, int, SplitRatios, int, CancellationToken)"/>
    public async Task<SplitOutcome> SplitAsync(string userId, int datasetId, SplitRatios ratios, int seed, bool onlyUnsplit, CancellationToken cancellationToken = default)
    {
        if (ratios.Train < 0 || ratios.Val < 0 || ratios.Test < 0 || Math.Abs(ratios.Train + ratios.Val + ratios.Test - 1) > 1e-6)
            throw new RuleViolationException($"Train, validation and test must be 0–100 % and add up to 100 % (got {ratios.Train:P0} + {ratios.Val:P0} + {ratios.Test:P0}).");
        if (ratios.Train == 0)
            throw new RuleViolationException("The training split cannot be empty.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.ClassId != null)
            .OrderBy(i => i.Id).ToListAsync(cancellationToken);

        var classNames = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).ToDictionaryAsync(c => c.Id, c => c.Name, cancellationToken);

        var moved = 0;
        foreach (var group in images.GroupBy(i => i.ClassId!.Value).OrderBy(g => g.Key))
        {
            var frozenTest = dataset.TestSplitFrozen;
            // Content order, then a shuffle seeded by (seed, class name): the same images and seed give the same split
            // in any process and on any installation (ids and HashCode differ between them).
            var pool = group.Where(i => onlyUnsplit ? i.Split == DatasetSplit.Unassigned : !(frozenTest && i.Split == DatasetSplit.Test)).OrderBy(i => i.Sha256, StringComparer.Ordinal).ToArray();
            new Random(ShuffleSeed(seed, classNames[group.Key])).Shuffle(pool);
            double test = frozenTest ? 0 : ratios.Test, val = frozenTest ? ratios.Val / (ratios.Train + ratios.Val) : ratios.Val;
            var testCount = (int)Math.Round(pool.Length * test, MidpointRounding.AwayFromZero);
            var valCount = (int)Math.Round(pool.Length * val, MidpointRounding.AwayFromZero);
            // Keep at least one training image per class (when only new images are split, one the class lacks).
            var hasTraining = onlyUnsplit && group.Any(i => i.Split == DatasetSplit.Train);
            var excess = testCount + valCount - (pool.Length - (hasTraining ? 0 : 1));
            if (excess > 0)
            {
                var fromVal = Math.Min(excess, valCount);
                valCount -= fromVal;
                testCount = Math.Max(0, testCount - (excess - fromVal));
            }
            for (var n = 0; n < pool.Length; n++)
            {
                var split = n < testCount ? DatasetSplit.Test : n < testCount + valCount ? DatasetSplit.Val : DatasetSplit.Train;
                if (pool[n].Split != split) moved++;
                pool[n].Split = split;
            }
        }
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, onlyUnsplit
            ? $"split {DatasetEvents.Count(moved, "image")} that were in no split"
            : $"split the dataset by class ({DatasetEvents.Count(moved, "image")} moved)", cancellationToken);
        return new SplitOutcome(images.Count(i => i.Split == DatasetSplit.Train), images.Count(i => i.Split == DatasetSplit.Val),
            images.Count(i => i.Split == DatasetSplit.Test), moved, dataset.TestSplitFrozen);
    }

    /// <summary>Freezes (or unfreezes) the test split: while frozen no image enters or leaves it, so runs stay comparable.</summary>
    public async Task SetTestSplitFrozenAsync(string userId, int datasetId, bool frozen, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        if (frozen && !await db.DatasetImages.AnyAsync(i => i.DatasetId == datasetId && i.Split == DatasetSplit.Test, cancellationToken))
            throw new RuleViolationException("The test split is empty: split the dataset first, then freeze its test images.");
        dataset.TestSplitFrozen = frozen;
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, frozen ? "froze the test split" : "unfroze the test split", cancellationToken);
    }

    /// <summary>The shuffle seed of one class: stable across processes and machines (unlike <see cref="HashCode"/>).</summary>
    public static int ShuffleSeed(int seed, string className) =>
        BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\n{className}")), 0);

    /// <summary>The content version: SHA-256 over every image's hash, label and split, in a fixed order. Any
    /// relabel, move or added/removed image changes it; nothing else does. The database returns the rows in hash
    /// order (its ordering of lower-case hex is ordinal) and they are hashed as they arrive: at 50,000 images that
    /// takes half as long as sorting them in memory into one text (docs/benchmarks.md).</summary>
    public async Task<string> VersionAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
            throw new NotFoundException("Dataset");
        var rows = db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Sha256)
            .Select(i => new { i.Sha256, Label = i.Class == null ? "" : i.Class.Name, i.Split })
            .AsNoTracking().AsAsyncEnumerable();
        using var version = new VersionHash();
        await foreach (var row in rows.WithCancellation(cancellationToken))
            version.Add(row.Sha256, row.Label, row.Split);
        return version.Finish();
    }

    /// <summary>The version of a dataset's content: SHA-256 over its (hash, label, split) rows in hash order. Any
    /// relabel, move, import or delete changes it; nothing else does.</summary>
    public static string ContentVersion(IEnumerable<(string Sha256, string Label, DatasetSplit Split)> rows)
    {
        using var version = new VersionHash();
        foreach (var row in rows.OrderBy(r => r.Sha256, StringComparer.Ordinal))
            version.Add(row.Sha256, row.Label, row.Split);
        return version.Finish();
    }

    /// <summary>SHA-256 over "hash\tlabel\tsplit\n" lines, fed in hash order.</summary>
    private sealed class VersionHash : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public void Add(string sha256, string label, DatasetSplit split) =>
            _hash.AppendData(Encoding.UTF8.GetBytes($"{sha256}\t{label}\t{split}\n"));

        public string Finish() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public void Dispose() => _hash.Dispose();
    }
}
