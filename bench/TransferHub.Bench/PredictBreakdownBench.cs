using System.Diagnostics;
using TorchSharp;
using TransferHub.Imaging;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

/// <summary>
/// Where a single-image Predict's time goes inside the worker (issue 16 goal 5), in one process, alternating the steps
/// round by round so a busy machine slows them alike: decode, transform, the whole TorchSharp model (what Predict ran
/// before ADR 031), and <see cref="Predictor.Predict"/> (ONNX Runtime backbone + TorchSharp head for frozen models) —
/// for a feature-extraction-style model (linear head) and an auto-style one (test-time flip).
///   dotnet run -c Release --project bench/TransferHub.Bench -- --predict-breakdown [--rounds 60] [--image PATH] [--compare-size 224]
/// </summary>
internal static class PredictBreakdownBench
{
    public static void Run(BenchOptions options, BackboneRegistry registry, string work, string backboneName, int rounds, string imagePath)
    {
        var size = options.CompareSize;
        var image = File.ReadAllBytes(imagePath);
        var store = new ModelStore(Path.Combine(work, "models"));
        var runtime = TorchRuntime.Initialize(new TransferHub.Worker.WorkerOptions { Device = TransferHub.Worker.DevicePreference.Cpu, TorchThreads = options.Threads },
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var predictor = new Predictor(store, registry, runtime, 64_000_000);
        Console.WriteLine($"predict breakdown · {Path.GetFileName(imagePath)} ({image.Length:N0} bytes) · {size} px · {rounds} rounds after 5 warm-up · median (p95) ms");
        Console.WriteLine("| model | decode | transform | TorchSharp whole model | Predictor.Predict (now) | Predict / TorchSharp |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var flip in new[] { false, true })
        {
            var backbone = registry.Create(backboneName);
            using var model = new ClassifierModel(backbone, new ClassifierHead(backbone.PooledDim(1), 4, 0, 0)) { TestTimeFlip = flip };
            model.eval();
            var id = flip ? "bench-tta" : "bench-fe";
            var metadata = new ModelMetadata
            {
                ModelId = id, JobId = id, Backbone = backboneName, BackboneDisplayName = backboneName, BackboneWeightsSha256 = backbone.WeightsSha256,
                BackboneFrozen = true, ClassNames = ["a", "b", "c", "d"], ImageSize = size, Resize = ResizeMode.Squash,
                Normalization = backbone.Descriptor.Normalization, HiddenUnits = 0, Dropout = 0, Mode = "FeatureExtraction", BestEpoch = 1,
                Accuracy = 0, EvaluatedSplit = "test", DatasetVersion = "bench", CreatedAt = DateTimeOffset.UnixEpoch,
                TestTimeAugmentation = flip ? ModelArtifact.HorizontalFlipTta : null,
            };
            store.Save(id, s => ModelArtifact.Save(s, model, metadata));
            var pipeline = new TransformPipeline(size, ResizeMode.Squash, AugmentationOptions.None, backbone.Descriptor.Normalization);
            var pixels = new float[3 * size * size];
            var steps = new (string Name, Action Run)[]
            {
                ("decode", () => ImageDecoder.Decode(image, "bench", 64_000_000).Dispose()),
                ("transform", () =>
                {
                    using var decoded = ImageDecoder.Decode(image, "bench", 64_000_000);
                    pipeline.Apply(decoded, null, pixels);
                }),
                ("torch", () =>
                {
                    using var scope = torch.NewDisposeScope();
                    using var noGrad = torch.no_grad();
                    _ = model.Probabilities(torch.tensor(pixels, [1, 3, size, size])).data<float>().ToArray();
                }),
                ("predict", () => predictor.Predict(id, image, 3)),
            };
            var times = steps.Select(_ => new List<double>()).ToArray();
            for (var round = -5; round < rounds; round++)
                for (var s = 0; s < steps.Length; s++)
                {
                    var start = Stopwatch.GetTimestamp();
                    steps[s].Run();
                    if (round >= 0) times[s].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            // The transform step decodes too: subtract the decode's median.
            string Cell(List<double> t, double minus = 0) => $"{Median(t) - minus:F1} ({P95(t) - minus:F1})";
            var decode = Median(times[0]);
            Console.WriteLine($"| {(flip ? "auto-style (test-time flip)" : "feature extraction (linear head)")} | {Cell(times[0])} | {Cell(times[1], decode)} | " +
                $"{Cell(times[2])} | {Cell(times[3])} | {Median(times[3]) / Median(times[2]):P0} |");
        }
        Console.WriteLine($"loaded-model cache: {predictor.Loaded.Loads} loads, {predictor.Loaded.Hits} hits, {predictor.Loaded.Evictions} evictions");
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
    private static double P95(List<double> values) => values.Order().ElementAt(Math.Min(values.Count - 1, (int)Math.Ceiling(0.95 * values.Count) - 1));
}
