using System.Diagnostics;
using TorchSharp;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

/// <summary>
/// Which feature views help the autopilot (issue 11: "measure whether a second scale or the previous stage's pooled
/// features help"). Every image of the set, no split: repeated stratified 5-fold cross-validation over all images
/// (3 fold seeds), for each feature variant × candidate, so that a design choice is not tuned on a 39-image test split.
///   dotnet run -c Release --project bench/TransferHub.Bench -- --explore-features [--data DIR] [--sizes 224,288]
/// </summary>
static class FeatureExplore
{
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string backbone, int[] sizes)
    {
        var items = dataset.Items;
        var labels = items.Select(i => i.ClassIndex).ToList();
        var classes = dataset.Classes.Count;
        // (size) → per image and view: pooled outputs of layer2, layer3, layer4 (average and max).
        var pooled = new Dictionary<(int Size, string Name, bool Flip), float[][]>();
        using var net = registry.Create(backbone);
        net.eval();
        string[] names = ["avg2", "avg3", "avg4", "max3", "max4"];
        foreach (var size in sizes)
        {
            var clock = Stopwatch.StartNew();
            var pipeline = new TransformPipeline(size, ResizeMode.Squash, AugmentationOptions.None, net.Descriptor.Normalization);
            var source = new BatchSource(store, pipeline);
            foreach (var n in names) { pooled[(size, n, false)] = new float[items.Count][]; pooled[(size, n, true)] = new float[items.Count][]; }
            using (torch.no_grad())
                foreach (var batch in source.Batches(items, Enumerable.Range(0, items.Count).ToArray(), 32, null, 0, CancellationToken.None))
                {
                    using var scope = torch.NewDisposeScope();
                    var input = torch.tensor(batch.Pixels, [batch.Count, 3, size, size]);
                    foreach (var flip in new[] { false, true })
                    {
                        var h = flip ? input.flip(3) : input;
                        var stages = net.Stages;
                        var outputs = new List<Tensor>();
                        for (var s = 0; s < stages.Count; s++) { h = ((nn.Module<Tensor, Tensor>)stages[s]).call(h); outputs.Add(h); }
                        var tensors = new[] { outputs[^3].mean([2, 3]), outputs[^2].mean([2, 3]), outputs[^1].mean([2, 3]),
                            outputs[^2].amax([2, 3]), outputs[^1].amax([2, 3]) };
                        for (var t = 0; t < names.Length; t++)
                        {
                            var data = tensors[t].data<float>().ToArray();
                            var d = data.Length / batch.Count;
                            for (var j = 0; j < batch.Count; j++) pooled[(size, names[t], flip)][batch.ItemIndices[j]] = data.AsSpan(j * d, d).ToArray();
                        }
                    }
                }
            Console.WriteLine($"features at {size}px: {clock.Elapsed.TotalSeconds:F1} s for {items.Count} images × 2 views");
        }

        static float[] L2(float[] a) { var n = MathF.Sqrt(a.Sum(v => v * v)) + 1e-12f; return a.Select(v => v / n).ToArray(); }
        var variants = new List<(string Name, float[][] Plain, float[][] Flip)>();
        (string, float[][], float[][]) Combine(int size, bool l2, params string[] parts)
        {
            float[][] Of(bool flip) => Enumerable.Range(0, items.Count)
                .Select(i => parts.SelectMany(p => l2 ? L2(pooled[(size, p, flip)][i]) : pooled[(size, p, flip)][i]).ToArray()).ToArray();
            return ($"{(l2 ? "l2 " : "")}{string.Join("+", parts)}@{size}", Of(false), Of(true));
        }
        foreach (var size in sizes)
        {
            variants.Add(Combine(size, false, "avg4"));
            variants.Add(Combine(size, false, "avg3", "avg4"));
            variants.Add(Combine(size, true, "avg3", "avg4"));
            variants.Add(Combine(size, false, "avg2", "avg3", "avg4"));
            variants.Add(Combine(size, true, "avg2", "avg3", "avg4"));
            variants.Add(Combine(size, false, "avg4", "max4"));
            variants.Add(Combine(size, false, "avg3", "avg4", "max3", "max4"));
        }

        var candidates = Candidate.DefaultGrid(imbalanced: false);
        Console.WriteLine("| variant | dim | best candidate | CV acc | CV macro-F1 | 2nd | logreg-std-C0.1 | logreg-l2-C1 | NCM | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, plain, flip) in variants)
        {
            var clock = Stopwatch.StartNew();
            var set = new FeatureSet(plain, flip, labels, classes);
            var selection = new AutoSelector(new AutoSelectorOptions { BudgetSeconds = 1e9, Seed = 0, MaxRepeats = 3 })
                .Select(set, candidates, _ => { }, (_, _) => { }, CancellationToken.None);
            var board = selection.Leaderboard;
            string Of(string n) => board.FirstOrDefault(s => s.Name == n) is { } s ? $"{s.Accuracy:P1}" : "–";
            Console.WriteLine($"| {name} | {plain[0].Length} | {board[0].Name} | {board[0].Accuracy:P1} | {board[0].MacroF1:F3} | {board[1].Name} {board[1].Accuracy:P1} | " +
                $"{Of("logreg-std-C0.1")} | {Of("logreg-l2-C1")} | {Of("nearest-class-mean")} | {clock.Elapsed.TotalSeconds:F1} |");
        }
    }
}
