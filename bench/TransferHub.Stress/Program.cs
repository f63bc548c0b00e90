// Stress check for issue 17 item 1: BatchNorm training under garbage-collection pressure. Not a test: it prints
// counts to compare, and exits 1 when anything failed.
//   dotnet run -c Release --project bench/TransferHub.Stress -- [--seconds 20] [--runs 20] [--epochs 10] [--size 32]
//     [--images 4] [--data samples/fashion-mnist] [--skip-repro]
// Part 1 (repro): a tight loop of training-mode BatchNorm forwards on a tiny input, once with TorchSharp's own
// nn.BatchNorm2d and once with the worker's SafeBatchNorm2d, while a helper thread forces collections (so finalizers run
// at any moment) and drops float Scalars (so freed native memory is soon reused by a floating-point Scalar).
// Part 2 (product): --runs × --epochs fine-tune epochs through the worker's Trainer (pretrained ResNet, all stages
// unfrozen, BatchNorm training, Adam/AdamW/SGD in turn, dropout head) on a few tiny images, under the same pressure.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string Get(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
var seconds = double.Parse(Get("--seconds", "20"));
var runs = int.Parse(Get("--runs", "20"));
var epochs = int.Parse(Get("--epochs", "10"));
var size = int.Parse(Get("--size", "32"));
var perClass = int.Parse(Get("--images", "4"));
var data = Get("--data", "samples/fashion-mnist");
torch.set_num_threads(1);
Console.WriteLine($"TransferHub BatchNorm stress · libtorch {torch.__version__} · {Environment.ProcessorCount} cores");

var failures = 0;
using (var pressure = new GcPressure())
{
    if (!args.Contains("--skip-repro"))
    {
        Console.WriteLine();
        Console.WriteLine($"| BatchNorm | seconds | forwards | exceptions | counter wrong | collections | first error |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, make) in new (string, Func<nn.Module<Tensor, Tensor>>)[]
                 {
                     ("TorchSharp nn.BatchNorm2d", () => nn.BatchNorm2d(2)),
                     ("SafeBatchNorm2d", () => new SafeBatchNorm2d(2)),
                 })
        {
            var result = Repro.Run(make, seconds, pressure);
            Console.WriteLine($"| {name} | {seconds:F0} | {result.Forwards} | {result.Exceptions} | {(result.CounterWrong ? "yes" : "no")} | {result.Collections} | {result.FirstError ?? "-"} |");
            if (name == "SafeBatchNorm2d" && (result.Exceptions > 0 || result.CounterWrong)) failures++;
        }
    }

    Console.WriteLine();
    var work = Path.Combine(Path.GetTempPath(), "transferhub-stress-" + Environment.ProcessId);
    try
    {
        var registry = BackboneRegistry.Create(Path.Combine(work, "weights"), Path.Combine(AppContext.BaseDirectory, "pretrained"), NullLogger.Instance);
        var store = new ImageStore(Path.Combine(work, "images"), 64_000_000);
        var classes = Directory.GetDirectories(data).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(3).ToArray();
        var items = new List<DatasetEntry>();
        for (var c = 0; c < classes.Length; c++)
        {
            var files = Directory.GetFiles(Path.Combine(data, classes[c]!), "*.png").Order(StringComparer.Ordinal).Take(perClass + 1).ToArray();
            for (var i = 0; i < files.Length; i++)
            {
                var bytes = File.ReadAllBytes(files[i]);
                var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
                store.Add(sha, Path.GetFileName(files[i]), bytes);
                items.Add(new DatasetEntry(sha, c, i < perClass ? DataSplit.Train : DataSplit.Val));
            }
        }
        var trainer = new Trainer(registry, store, new FeatureCache(Path.Combine(work, "features")), torch.CPU);
        var done = 0;
        var errors = new List<string>();
        var clock = Stopwatch.StartNew();
        var collectionsBefore = GC.CollectionCount(0);
        for (var run = 0; run < runs; run++)
        {
            var spec = new TrainingSpec
            {
                JobId = $"stress-{run}", Items = items, ClassNames = classes!, Backbone = BackboneRegistry.PretrainedName,
                Mode = TrainingMode.FineTune, UnfreezeStages = 0, HiddenUnits = 16, Dropout = 0.2f, Epochs = epochs,
                ImageSize = size, BatchSize = 4, LearningRate = 1e-3f, Optimizer = (OptimizerKind)(run % 3), WeightDecay = 1e-4f, Schedule = LrSchedule.Cosine, Seed = run,
                Augmentation = new AugmentationOptions { HorizontalFlip = true },
            };
            var epochCount = new EpochCounter();
            try
            {
                trainer.Run(spec, epochCount, CancellationToken.None).Model.Dispose();
            }
            catch (Exception e)
            {
                errors.Add($"run {run} epoch {epochCount.Count + 1}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                if (args.Contains("--traces")) Console.Error.WriteLine(e);
            }
            done += epochCount.Count;
        }
        Console.WriteLine("| fine-tune runs | epochs | seconds | failed runs | collections | first error |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Console.WriteLine($"| {runs} × {epochs} epochs, {items.Count} images at {size} px, all stages, Adam/AdamW/SGD, dropout | {done} | {clock.Elapsed.TotalSeconds:F0} | {errors.Count} | {GC.CollectionCount(0) - collectionsBefore} | {errors.FirstOrDefault() ?? "-"} |");
        failures += errors.Count;
    }
    finally
    {
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
    }
}
Console.WriteLine();
Console.WriteLine(failures == 0 ? "0 failures" : $"{failures} failure(s)");
return failures == 0 ? 0 : 1;

sealed class EpochCounter : ITrainingObserver
{
    public int Count { get; private set; }
    public void Started(TrainingStarted started) { }
    public void Epoch(EpochResult epoch) => Count++;
    public void Log(string level, string message) { }
}

/// <summary>A thread that forces a collection and runs pending finalizers in a loop, dropping float Scalars between.</summary>
sealed class GcPressure : IDisposable
{
    private volatile bool _stop;
    private readonly Thread _thread;

    public GcPressure()
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                for (var i = 0; i < 64; i++) _ = (0.5 + i).ToScalar(); // left to the finalizer, as implicit conversions are
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}

static class Repro
{
    public sealed record Result(long Forwards, long Exceptions, bool CounterWrong, int Collections, string? FirstError);

    public static Result Run(Func<nn.Module<Tensor, Tensor>> make, double seconds, GcPressure pressure)
    {
        _ = pressure;
        using var bn = make();
        bn.train();
        using var input = torch.randn(2, 2, 2, 2);
        long forwards = 0, exceptions = 0;
        string? first = null;
        var collections = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            using var scope = torch.NewDisposeScope();
            try
            {
                bn.call(input);
                forwards++;
            }
            catch (Exception e)
            {
                exceptions++;
                first ??= e.Message.Split('\n')[0];
            }
        }
        var tracked = bn.named_buffers().Single(b => b.name == "num_batches_tracked").buffer.item<long>();
        return new Result(forwards, exceptions, tracked != forwards, GC.CollectionCount(0) - collections, first);
    }
}
