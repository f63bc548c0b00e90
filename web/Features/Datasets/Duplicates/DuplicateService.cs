using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Duplicates;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Datasets.Duplicates;

/// <param name="Closest">The member's highest similarity to another member it was joined with: a cosine similarity
/// (0–1) when compared by embeddings, 1 − bits/64 by difference hash.</param>
public sealed record DuplicateMember(long ImageId, string Sha256, string OriginalName, string? ClassName, DatasetSplit Split, double Closest);

/// <summary>Images that show nearly the same picture (similar to one another, transitively).</summary>
public sealed record DuplicateGroup(IReadOnlyList<DuplicateMember> Images)
{
    /// <summary>Members sit in different splits: the model may be evaluated on pictures it trained on.</summary>
    public bool CrossesSplits => Images.Select(i => i.Split).Where(s => s != DatasetSplit.Unassigned).Distinct().Count() > 1;

    public bool MixedLabels => Images.Select(i => i.ClassName).Distinct().Count() > 1;

    /// <summary>The order the panel and the API list groups in: leaks (cross-split) first; within them and the rest the
    /// group with the closest pair first (a real copy at 0.96 before five look-alike fruits at 0.90, which a browser
    /// walk-through found listed tenth), then larger groups, then the first image's id.</summary>
    public static List<DuplicateGroup> Ordered(IEnumerable<DuplicateGroup> groups) =>
    [
        .. groups.OrderByDescending(g => g.CrossesSplits).ThenByDescending(g => g.Images.Max(i => i.Closest)).ThenByDescending(g => g.Images.Count)
            .ThenBy(g => g.Images[0].ImageId),
    ];
}

public enum DuplicateMethod
{
    /// <summary>Cosine similarity of a pretrained backbone's embeddings (a worker computed them).</summary>
    Embeddings,

    /// <summary>Difference hashes of the pictures (no worker could embed): strict, and blind to crops.</summary>
    DifferenceHash,
}

/// <summary>What a near-duplicate search found and how: <see cref="Explanation"/> says it in words (for the
/// difference-hash fallback: why no worker was used and what that misses). <see cref="Embedded"/> image contents were
/// embedded by a worker this time, <see cref="Cached"/> came from the web's store of embeddings; <see cref="Hidden"/> pairs were left
/// apart because someone marked them "not duplicates".</summary>
public sealed record DuplicateSearch(IReadOnlyList<DuplicateGroup> Groups, DuplicateMethod Method, double Threshold, string Explanation,
    int Images, int Embedded, int Cached, int Hidden, double Seconds);

/// <summary>
/// Finds near-duplicate images of a dataset (issue 13): a worker embeds each image content once with the pretrained
/// backbone (worker.proto EmbedImages; the web keeps the vectors per content and method, so a new search embeds only
/// new images), pairs whose cosine similarity reaches the threshold are joined into groups
/// (<see cref="SimilarityGroups"/>), leaking (cross-split) groups first. Pairs an editor marked "not duplicates" are
/// never joined. With no worker that can embed, the pictures' difference hashes are compared instead at a strict
/// fixed distance, and the result says so. Resolving groups — keep one, move to one split — is curation
/// (<see cref="Curation.CurationService"/>).
/// </summary>
/// <remarks>The default threshold was chosen on Tux Paint (286 distinct photos, no true duplicates) and eight altered
/// copies of each (resized 50 %/200 %, JPEG quality 30/60, cropped 5 %/10 %, brightness ±20 %): docs/benchmarks.md,
/// "Near-duplicates".</remarks>
public sealed class DuplicateService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    ImageStore store,
    RunLauncher launcher,
    WorkerGateway gateway,
    RunImageSender imageSender,
    DatasetEvents events,
    ClientSession session,
    TimeProvider clock)
{
    /// <summary>Cosine similarity a pair needs by default (<see cref="SimilarityGroups.DefaultThreshold"/>).</summary>
    public const double DefaultThreshold = SimilarityGroups.DefaultThreshold;

    /// <summary>Lowest threshold offered: below it unrelated pictures of one kind start to join.</summary>
    public const double MinThreshold = 0.80;

    public const double MaxThreshold = 1.0;

    /// <summary>Most differing bits (of 64) of two difference hashes in the fallback: strict, because on plain
    /// backgrounds unrelated pictures' hashes collide (a gas cylinder and a lettuce at 3 bits).</summary>
    public const int FallbackBits = 2;

    /// <summary>Images per embedding call (and per progress step).</summary>
    public const int EmbedChunk = 256;

    /// <summary>Groups of near-duplicates, leaking (cross-split) groups first, then the most similar. Anyone who can see the
    /// dataset may search. <paramref name="progress"/> hears "sending images", "embedding on worker X" and "comparing"
    /// (n of N); cancellation is honoured between chunks and rows.</summary>
    /// <param name="threshold">Cosine similarity a pair needs, <see cref="MinThreshold"/>..<see cref="MaxThreshold"/>
    /// (1 = only identical embeddings). The fallback ignores it.</param>
    /// <exception cref="NotFoundException">no such dataset for this user</exception>
    /// <exception cref="RuleViolationException">a threshold out of range</exception>
    public async Task<DuplicateSearch> FindAsync(string userId, int datasetId, double threshold = DefaultThreshold, IProgress<WorkStep>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (threshold is < MinThreshold or > MaxThreshold || double.IsNaN(threshold))
            throw new RuleViolationException($"The threshold must be a cosine similarity from {MinThreshold:0.00} to {MaxThreshold:0.00}.");
        var clockStart = Stopwatch.StartNew();
        List<Candidate> images;
        HashSet<(string, string)> distinct;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
                throw new NotFoundException("Dataset");
            images = await db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id)
                .Select(i => new Candidate(i.Id, i.Sha256, i.OriginalName, i.Class == null ? null : i.Class.Name, i.Split, i.PerceptualHash))
                .ToListAsync(cancellationToken);
            // Columns, made tuples here: PostgreSQL would return a tuple projection as one record value.
            distinct = [.. (await db.DistinctImagePairs.Where(p => p.DatasetId == datasetId).Select(p => new { p.Sha256A, p.Sha256B })
                .ToListAsync(cancellationToken)).Select(p => (p.Sha256A, p.Sha256B))];
        }
        var embedded = await EmbedAsync(images, progress, cancellationToken);
        if (embedded.Vectors is null)
            return await ByDifferenceHashAsync(datasetId, images, distinct, embedded.Problem!, progress, clockStart, cancellationToken);

        var usable = images.Where(i => embedded.Vectors.ContainsKey(i.Sha256)).ToList();
        var hidden = 0;
        IReadOnlyList<IReadOnlyList<GroupMember>> found;
        try
        {
            found = SimilarityGroups.Find([.. usable.Select(i => embedded.Vectors[i.Sha256])], threshold,
                (a, b) => IsDistinct(distinct, usable[a].Sha256, usable[b].Sha256) && ++hidden > 0,
                new Progress(progress, usable.Count), cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new RuleViolationException(e.Message);
        }
        progress?.Report(new WorkStep("comparing", usable.Count, usable.Count));
        var explanation = $"Compared by cosine similarity of {embedded.Method}, computed on {embedded.WorkerName}" +
            (usable.Count < images.Count ? $"; {images.Count - usable.Count} image(s) could not be read and were left out." : ".");
        return new DuplicateSearch(Ordered(found.Select(g => g.Select(m => (usable[m.Index], (double)m.Closest)))), DuplicateMethod.Embeddings, threshold,
            explanation, images.Count, embedded.Computed, embedded.Cached, hidden, clockStart.Elapsed.TotalSeconds);
    }

    /// <summary>"Not duplicates": the images are different pictures; no later search joins any two of them directly
    /// (with <paramref name="only"/>: only that image with each of the others). Returns the pairs newly remembered.</summary>
    /// <exception cref="ForbiddenException">viewers</exception>
    /// <exception cref="NotFoundException">an image that is not in the dataset</exception>
    /// <exception cref="RuleViolationException">fewer than two different images</exception>
    public async Task<int> MarkDistinctAsync(string userId, int datasetId, IReadOnlyList<long> imageIds, long? only = null,
        CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var ids = imageIds.Distinct().ToList();
        if (only is { } one && !ids.Contains(one)) ids.Add(one);
        var rows = await db.DatasetImages.Where(i => i.DatasetId == datasetId && ids.Contains(i.Id)).Select(i => new { i.Id, i.Sha256 }).ToListAsync(cancellationToken);
        if (rows.Count != ids.Count) throw new NotFoundException("Image");
        var contents = rows.Select(r => r.Sha256).Distinct().Order(StringComparer.Ordinal).ToList();
        var pivot = only is { } o ? rows.Single(r => r.Id == o).Sha256 : null;
        if (contents.Count < 2) throw new RuleViolationException("Mark at least two different images as not duplicates.");
        var known = (await db.DistinctImagePairs.Where(p => p.DatasetId == datasetId && contents.Contains(p.Sha256A) && contents.Contains(p.Sha256B))
            .Select(p => new { p.Sha256A, p.Sha256B }).ToListAsync(cancellationToken)).Select(p => (p.Sha256A, p.Sha256B)).ToHashSet();
        var now = clock.GetUtcNow().UtcDateTime;
        var added = 0;
        for (var a = 0; a < contents.Count; a++)
            for (var b = a + 1; b < contents.Count; b++)
            {
                if (known.Contains((contents[a], contents[b])) || (pivot is not null && contents[a] != pivot && contents[b] != pivot)) continue;
                db.DistinctImagePairs.Add(new DistinctImagePair
                {
                    DatasetId = datasetId, Sha256A = contents[a], Sha256B = contents[b], MarkedByUserId = userId, MarkedAt = now,
                });
                added++;
            }
        await db.SaveChangesAsync(cancellationToken);
        await events.PublishAsync(db, session, userId, datasetId, $"marked {DatasetEvents.Count(contents.Count, "image")} as not duplicates", cancellationToken);
        return added;
    }

    private static bool IsDistinct(HashSet<(string, string)> distinct, string a, string b) =>
        distinct.Count > 0 && distinct.Contains(string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a));

    private static List<DuplicateGroup> Ordered(IEnumerable<IEnumerable<(Candidate Image, double Closest)>> groups) =>
        DuplicateGroup.Ordered(groups.Select(g => new DuplicateGroup([.. g.Select(m => new DuplicateMember(m.Image.Id, m.Image.Sha256,
            m.Image.OriginalName, m.Image.ClassName, m.Image.Split, m.Closest))])));

    private sealed record Candidate(long Id, string Sha256, string OriginalName, string? ClassName, DatasetSplit Split, long? PerceptualHash);

    private sealed record Embedded(IReadOnlyDictionary<string, float[]>? Vectors, string? Problem, string Method = "", string WorkerName = "",
        int Computed = 0, int Cached = 0);

    /// <summary>Every image's embedding: from the web's store under the method the latest embeddings used, the rest from
    /// a worker in chunks of <see cref="EmbedChunk"/> (sent first where it lacks them) and stored. A worker that answers
    /// with another method (a new backbone version) starts over under its method. Null vectors and the reason when no
    /// worker can embed.</summary>
    private async Task<Embedded> EmbedAsync(IReadOnlyList<Candidate> images, IProgress<WorkStep>? progress, CancellationToken cancellationToken)
    {
        var (backbones, problem) = await launcher.OfferedBackbonesAsync(cancellationToken);
        if (backbones.FirstOrDefault(b => b.Pretrained) is not { } backbone)
            return new Embedded(null, problem ?? "no worker offers a pretrained backbone");
        List<WorkerNode> workers;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            workers = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Status == WorkerStatus.Online).ThenByDescending(w => w.IsLocal)
                .ToListAsync(cancellationToken);
        var contents = images.Select(i => i.Sha256).Distinct().Where(store.Contains).ToList();
        var method = await LatestMethodAsync(backbone.Name, backbone.InputSize, cancellationToken);
        var vectors = method is null ? new Dictionary<string, float[]>() : await StoredAsync(method, contents, cancellationToken);
        var cached = vectors.Count;
        var computed = 0;
        var workerName = "";
        while (contents.Where(c => !vectors.ContainsKey(c)).Take(EmbedChunk).ToList() is { Count: > 0 } chunk)
        {
            progress?.Report(new WorkStep(workerName == "" ? "embedding" : $"embedding on {workerName}", vectors.Count, contents.Count));
            ImageEmbeddings result;
            try
            {
                (result, _) = await WorkerGateway.FirstAnsweringAsync(workers, async worker =>
                {
                    await imageSender.SendMissingAsync(worker, chunk, null, cancellationToken);
                    return await gateway.EmbedImagesAsync(worker, backbone.Name, backbone.InputSize, chunk, cancellationToken);
                });
            }
            catch (WorkerRefusedException e)
            {
                return new Embedded(null, $"worker {e.WorkerName} refused: {e.Detail}");
            }
            catch (NoWorkerAnsweredException e)
            {
                return new Embedded(null, $"no worker could embed the images ({string.Join("; ", e.Problems)})");
            }
            workerName = result.WorkerName;
            if (result.Method != method)
            {
                // Vectors of another method are not comparable: this method's stored ones (if any) replace them.
                method = result.Method;
                vectors = await StoredAsync(method, contents, cancellationToken);
                cached = vectors.Count;
                computed = 0;
            }
            await SaveAsync(method, result, cancellationToken);
            foreach (var (sha, vector) in result.Vectors) vectors[sha] = vector;
            computed += result.Vectors.Count;
        }
        progress?.Report(new WorkStep("embedding", contents.Count, contents.Count));
        return new Embedded(vectors, null, method ?? "", workerName == "" ? "stored embeddings" : workerName, computed, cached);
    }

    private async Task<string?> LatestMethodAsync(string backbone, int size, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var prefix = $"{backbone} {size}px ";
        return await db.ImageEmbeddings.Where(e => e.Method.StartsWith(prefix)).OrderByDescending(e => e.CreatedAt).Select(e => e.Method)
            .FirstOrDefaultAsync(cancellationToken);
    }

    private async Task<Dictionary<string, float[]>> StoredAsync(string method, IReadOnlyList<string> contents, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var result = new Dictionary<string, float[]>();
        foreach (var chunk in contents.Chunk(500))
            foreach (var row in await db.ImageEmbeddings.Where(e => e.Method == method && chunk.Contains(e.Sha256)).ToListAsync(cancellationToken))
                result[row.Sha256] = MemoryMarshal.Cast<byte, float>(row.Vector).ToArray();
        return result;
    }

    private async Task SaveAsync(string method, ImageEmbeddings result, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var shas = result.Vectors.Keys.ToList();
        var existing = await db.ImageEmbeddings.Where(e => e.Method == method && shas.Contains(e.Sha256)).Select(e => e.Sha256).ToListAsync(cancellationToken);
        foreach (var (sha, vector) in result.Vectors.Where(v => !existing.Contains(v.Key)))
            db.ImageEmbeddings.Add(new ImageEmbeddingRow
            {
                Sha256 = sha, Method = method, Dim = vector.Length, Vector = MemoryMarshal.AsBytes(vector.AsSpan()).ToArray(), CreatedAt = now,
            });
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>For each of <paramref name="probes"/>, the index of the nearest of <paramref name="references"/> within
    /// <paramref name="threshold"/> differing bits, or -1 (|probes| × |references| popcounts over plain arrays). A run's
    /// data facts find held-out images that nearly duplicate a training image with this, at the fallback's strict
    /// <see cref="FallbackBits"/>.</summary>
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

    /// <summary>The fallback: difference hashes (64 bits) within <see cref="FallbackBits"/>, images imported before
    /// hashes existed hashed now.</summary>
    private async Task<DuplicateSearch> ByDifferenceHashAsync(int datasetId, List<Candidate> images, HashSet<(string, string)> distinct,
        string problem, IProgress<WorkStep>? progress, Stopwatch started, CancellationToken cancellationToken)
    {
        await BackfillHashesAsync(datasetId, progress, cancellationToken);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var hashes = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.PerceptualHash != null)
                .Select(i => new { i.Id, i.PerceptualHash }).ToDictionaryAsync(i => i.Id, i => i.PerceptualHash!.Value, cancellationToken);
            images = [.. images.Where(i => hashes.ContainsKey(i.Id)).Select(i => i with { PerceptualHash = hashes[i.Id] })];
        }
        var parent = Enumerable.Range(0, images.Count).ToArray();
        var closest = new int[images.Count];
        Array.Fill(closest, 65);
        int Root(int x) => parent[x] == x ? x : parent[x] = Root(parent[x]);
        var hidden = 0;
        for (var a = 0; a < images.Count; a++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (a % 64 == 0) progress?.Report(new WorkStep("comparing", a, images.Count));
            for (var b = a + 1; b < images.Count; b++)
            {
                var bits = ImageDigest.Distance(unchecked((ulong)images[a].PerceptualHash!.Value), unchecked((ulong)images[b].PerceptualHash!.Value));
                if (bits > FallbackBits) continue;
                if (IsDistinct(distinct, images[a].Sha256, images[b].Sha256)) { hidden++; continue; }
                (closest[a], closest[b]) = (Math.Min(closest[a], bits), Math.Min(closest[b], bits));
                parent[Root(b)] = Root(a);
            }
        }
        progress?.Report(new WorkStep("comparing", images.Count, images.Count));
        var groups = Enumerable.Range(0, images.Count).Where(i => closest[i] <= 64).GroupBy(Root).Where(g => g.Count() > 1)
            .Select(g => g.Select(i => (images[i], 1 - closest[i] / 64.0)));
        var explanation = $"No worker could compare what the pictures show ({problem}), so their difference hashes were compared " +
            $"(at most {FallbackBits} of 64 bits apart). This misses cropped and brightened copies and can join unrelated pictures on plain " +
            "backgrounds: check each group before removing anything.";
        return new DuplicateSearch(Ordered(groups), DuplicateMethod.DifferenceHash, FallbackBits, explanation, images.Count, 0, 0, hidden,
            started.Elapsed.TotalSeconds);
    }

    /// <summary>Images imported before hashes existed get theirs now (decoded once from the store).</summary>
    private async Task BackfillHashesAsync(int datasetId, IProgress<WorkStep>? progress, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
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

    /// <summary>Rows compared → "comparing n of N".</summary>
    private sealed class Progress(IProgress<WorkStep>? inner, int total) : IProgress<int>
    {
        public void Report(int value) => inner?.Report(new WorkStep("comparing", value, total));
    }
}
