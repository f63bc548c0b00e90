using System.Diagnostics;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

/// <summary>
/// Frozen-backbone inference (issue 16, goal 1): the same normalised batches through TorchSharp (eval, no_grad) and
/// through ONNX Runtime (<see cref="OrtFeatureExtractor"/>), alternating rounds so that machine load hits both alike;
/// images/s of the network alone (decode and resize excluded) and the max |Δ| of the features.
///   dotnet run -c Release --project bench/TransferHub.Bench -- --frozen-inference [--compare-size 224] [--rounds 3] [--threads 2]
/// </summary>
static class FrozenInferenceBench
{
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string backboneName, int rounds)
    {
        var size = options.CompareSize;
        using var backbone = registry.Create(backboneName);
        backbone.eval();
        var pipeline = new TransformPipeline(size, ResizeMode.Squash, AugmentationOptions.None, backbone.Descriptor.Normalization);
        var batches = new BatchSource(store, pipeline)
            .Batches(dataset.Items, Enumerable.Range(0, dataset.Items.Count).ToArray(), options.Batch, null, 0, CancellationToken.None)
            .Select(b => (b.Pixels.ToArray(), b.Count)).ToList();
        var images = batches.Sum(b => b.Count);
        Console.WriteLine($"frozen {backboneName} at {size}px · {images} images in batches of {options.Batch} · {options.Threads} threads · network only (decoding excluded)");
        Console.WriteLine("| stages pooled | engine | round | seconds | images/s |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var stages in new[] { 1, 2 })
        {
            var clock = Stopwatch.StartNew();
            using var ort = OrtFeatureExtractor.Create(backbone, stages, size, options.Threads);
            Console.WriteLine($"| {stages} | ORT session build | | {clock.Elapsed.TotalSeconds:F2} | |");
            var torchBest = 0.0;
            var ortBest = 0.0;
            var maxDelta = 0f;
            for (var round = 0; round < rounds; round++)
            {
                clock.Restart();
                var torchFeatures = new List<float[]>();
                using (torch.no_grad())
                    foreach (var (pixels, count) in batches)
                    {
                        using var scope = torch.NewDisposeScope();
                        torchFeatures.Add(backbone.PooledStages(torch.tensor(pixels, [count, 3, size, size]), stages).data<float>().ToArray());
                    }
                var torchRate = images / clock.Elapsed.TotalSeconds;
                Console.WriteLine($"| {stages} | TorchSharp | {round + 1} | {clock.Elapsed.TotalSeconds:F2} | {torchRate:F1} |");
                clock.Restart();
                var ortFeatures = batches.Select(b => ort.Run(b.Item1, b.Count)).ToList();
                var ortRate = images / clock.Elapsed.TotalSeconds;
                Console.WriteLine($"| {stages} | ONNX Runtime | {round + 1} | {clock.Elapsed.TotalSeconds:F2} | {ortRate:F1} |");
                torchBest = Math.Max(torchBest, torchRate);
                ortBest = Math.Max(ortBest, ortRate);
                for (var b = 0; b < batches.Count; b++)
                    for (var i = 0; i < ortFeatures[b].Length; i++) maxDelta = Math.Max(maxDelta, Math.Abs(ortFeatures[b][i] - torchFeatures[b][i]));
            }
            Console.WriteLine($"| {stages} | **ORT / TorchSharp (best rounds)** | | | **{ortBest / torchBest:F2}×** (max \\|Δ\\| of features {maxDelta:E1}) |");
        }
    }
}
