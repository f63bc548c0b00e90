using System.Diagnostics;
using System.Security.Cryptography;
using TorchSharp;
using TransferHub.Contracts.Duplicates;
using TransferHub.Imaging;
using TransferHub.Testing;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;

/// <summary>
/// Issue 13 part 3: which embedding and which cosine threshold find altered copies and nothing else. Every image of the
/// dataset (Tux Paint: distinct photos, no true duplicates) gets the eight altered copies of
/// <see cref="ImageAlterations"/>; the frozen backbone embeds originals and copies (the autopilot's cached features);
/// per embedding kind it prints the similarity of each copy to its original against the similarity of each original to
/// its closest other original, the difference-hash distances of the same pairs, and per threshold the groups among the
/// originals alone (cross-class = false) and the share of copies grouped with their original. Then the grouping step
/// alone on 10,000 synthetic unit vectors of the same width.
///   dotnet run -c Release --project bench/TransferHub.Bench -- --near-duplicates [--compare-size 224] [--synthetic 10000]
/// </summary>
static class NearDuplicateBench
{
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, Dataset dataset, string backbone, int synthetic)
    {
        var originals = dataset.Items;
        var items = new List<DatasetEntry>(originals);
        var copies = new List<(int Original, int Kind, int Item)>();
        var hashes = new List<ulong>();
        foreach (var item in originals) hashes.Add(DHash(store.Read(item.Sha256)));
        for (var o = 0; o < originals.Count; o++)
        {
            var data = store.Read(originals[o].Sha256);
            for (var k = 0; k < ImageAlterations.All.Count; k++)
            {
                var altered = ImageAlterations.All[k].Alter(data);
                var sha = Convert.ToHexStringLower(SHA256.HashData(altered));
                if (items.Any(i => i.Sha256 == sha)) continue;
                store.Add(sha, $"copy-{o}-{k}", altered);
                copies.Add((o, k, items.Count));
                items.Add(new DatasetEntry(sha, originals[o].ClassIndex, DataSplit.Train));
                hashes.Add(DHash(altered));
            }
        }
        var spec = dataset.Spec("near-duplicates", backbone, TrainingMode.Auto, 1, options.CompareSize, options.Batch) with { Items = items };
        var clock = Stopwatch.StartNew();
        var set = new AutopilotTrainer(registry, store, new FeatureCache(Path.Combine(work, "features-duplicates")), torch.CPU)
            .Features(spec, IgnoringObserver.Instance, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"near-duplicates · {originals.Count} originals + {copies.Count} altered copies · {backbone} at {options.CompareSize}px squash, " +
            $"two last stages pooled, each image and its mirror image · {items.Count} images embedded cold in {seconds:F1} s = {items.Count / seconds:F1} images/s " +
            $"({options.Threads} threads, decode included)");
        Console.WriteLine();

        // The closest distinct original of each original, and each copy's similarity to its original, per embedding kind.
        Console.WriteLine("| embedding | copies: min | copies: 1st pct | copies: median | closest distinct: max | 99th pct | median | margin (min copy − max distinct) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var kind in Enum.GetValues<EmbeddingKind>())
        {
            var e = ImageEmbeddings.Of(set, kind);
            var copy = copies.Select(c => SimilarityGroups.Dot(e[c.Item], e[c.Original])).Order().ToArray();
            var distinct = Enumerable.Range(0, originals.Count)
                .Select(a => Enumerable.Range(0, originals.Count).Where(b => b != a).Max(b => SimilarityGroups.Dot(e[a], e[b]))).Order().ToArray();
            Console.WriteLine($"| {kind} | {copy[0]:F3} | {Pct(copy, 0.01):F3} | {Pct(copy, 0.5):F3} | {distinct[^1]:F3} | {Pct(distinct, 0.99):F3} | {Pct(distinct, 0.5):F3} | {copy[0] - distinct[^1]:+0.000;-0.000} |");
        }
        Console.WriteLine();

        var embeddings = ImageEmbeddings.Of(set);
        Console.WriteLine($"per alteration ({ImageEmbeddings.Default}; difference hash: Hamming distance of 64 bits)");
        Console.WriteLine("| alteration | cosine min | cosine median | dHash max | dHash median |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var k = 0; k < ImageAlterations.All.Count; k++)
        {
            var of = copies.Where(c => c.Kind == k).ToList();
            var cos = of.Select(c => SimilarityGroups.Dot(embeddings[c.Item], embeddings[c.Original])).Order().ToArray();
            var bits = of.Select(c => ImageDigest.Distance(hashes[c.Item], hashes[c.Original])).Order().ToArray();
            Console.WriteLine($"| {ImageAlterations.All[k].Name} | {cos[0]:F3} | {Pct(cos, 0.5):F3} | {bits[^1]} | {bits[bits.Length / 2]} |");
        }
        var closestBits = Enumerable.Range(0, originals.Count)
            .Select(a => Enumerable.Range(0, originals.Count).Where(b => b != a).Min(b => ImageDigest.Distance(hashes[a], hashes[b]))).Order().ToArray();
        Console.WriteLine($"difference hash, closest distinct original: min {closestBits[0]}, median {closestBits[closestBits.Length / 2]} bits " +
            $"({closestBits.Count(b => b <= 6)} originals within 6 bits of another, the old default)");
        Console.WriteLine();

        Console.WriteLine("closest distinct originals:");
        var pairs = new List<(int A, int B, float S)>();
        for (var a = 0; a < originals.Count; a++)
            for (var b = a + 1; b < originals.Count; b++) pairs.Add((a, b, SimilarityGroups.Dot(embeddings[a], embeddings[b])));
        foreach (var (a, b, s) in pairs.OrderByDescending(p => p.S).Take(8))
            Console.WriteLine($"  {s:F3}  {dataset.RelativePaths[a]}  ~  {dataset.RelativePaths[b]}");
        Console.WriteLine();

        Console.WriteLine("| threshold | groups among originals | cross-class groups | originals grouped | copies grouped with their original | groups holding 2+ originals (all images) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var threshold in new[] { 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96 })
        {
            var alone = SimilarityGroups.Find([.. embeddings.Take(originals.Count)], threshold);
            var crossClass = alone.Count(g => g.Select(m => originals[m.Index].ClassIndex).Distinct().Count() > 1);
            var all = SimilarityGroups.Find(embeddings, threshold);
            var groupOf = new Dictionary<int, int>();
            for (var g = 0; g < all.Count; g++)
                foreach (var m in all[g]) groupOf[m.Index] = g;
            var found = copies.Count(c => groupOf.TryGetValue(c.Item, out var g) && groupOf.TryGetValue(c.Original, out var h) && g == h);
            var mixed = all.Count(g => g.Count(m => m.Index < originals.Count) > 1);
            Console.WriteLine($"| {threshold:F2} | {alone.Count} | {crossClass} | {alone.Sum(g => g.Count)} | {found} of {copies.Count} ({(double)found / copies.Count:P1}) | {mixed} |");
        }
        Console.WriteLine();

        // The grouping step alone at scale: random unit vectors of the same width, 1 % of them with a planted near copy.
        var random = new Random(13);
        var dim = embeddings[0].Length;
        var vectors = new List<float[]>(synthetic);
        while (vectors.Count < synthetic)
        {
            var v = SimilarityGroups.Normalized([.. Enumerable.Range(0, dim).Select(_ => (float)random.NextDouble())]);
            vectors.Add(v);
            if (vectors.Count % 100 == 0 && vectors.Count < synthetic)
                vectors.Add(SimilarityGroups.Normalized([.. v.Select(x => x + 0.01f * (float)random.NextDouble())]));
        }
        for (var round = 0; round < 3; round++)
        {
            clock.Restart();
            var groups = SimilarityGroups.Find(vectors, 0.995);
            Console.WriteLine($"grouping {synthetic:N0} × {dim} (all pairs, cosine ≥ 0.995, {Environment.ProcessorCount} cores): {clock.Elapsed.TotalSeconds:F2} s, {groups.Count} groups");
        }
    }

    private static ulong DHash(byte[] data)
    {
        using var image = ImageDecoder.Decode(data, "image");
        return ImageDigest.DifferenceHash(image);
    }

    private static double Pct(float[] sorted, double q) => sorted[Math.Clamp((int)Math.Floor(q * (sorted.Length - 1)), 0, sorted.Length - 1)];
}
