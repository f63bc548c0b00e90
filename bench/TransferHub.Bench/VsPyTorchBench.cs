using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Jobs;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;

/// <summary>
/// Issue 16 side by side: TransferHub's worker engine (in this process, as the worker runs it) against a plain PyTorch
/// 1.13 script (<c>bench/reference/pytorch_reference.py</c>, a child process), same images, split, weights, image size,
/// batch size and thread count, interleaved A B A B so that the machine's load hits both alike:
/// <list type="bullet">
/// <item>feature extraction: every image's pooled features computed once — TransferHub's real path (image store read,
/// decode, resize, normalise in parallel, the frozen backbone on ONNX Runtime, <see cref="FrozenFeatures"/>, session
/// built before timing as a running worker has it) against PyTorch's extract-once mode (DataLoader with 2 decode
/// workers, eval, inference_mode); images/s;</item>
/// <item>fine-tune with the PyTorch tutorial's recipe (all stages, SGD 1e-3 momentum 0.9, StepLR 7 × 0.1, batch 32,
/// random resized crop 0.08–1 + flip): seconds per epoch (training + validation), the first apart, test accuracy;</item>
/// <item>resident memory during that fine-tune: idle (model loaded, before), peak (polled every 100 ms; PyTorch: its
/// process tree, DataLoader workers included), after (the run's model stored and released, as the worker does);</item>
/// <item>single-image predict p50/p95 of the fine-tuned model, loaded (TransferHub: <see cref="Predictor.Predict"/> from
/// the image's bytes; PyTorch: decode, resize, forward, softmax).</item>
/// </list>
///   dotnet run -c Release --project bench/TransferHub.Bench -- --vs-pytorch [--epochs 10] [--rounds 2] [--compare-size 224] [--data DIR]
/// Without python3-torch it prints TransferHub's figures only and says why.
/// </summary>
internal static class VsPyTorchBench
{
    private const int PredictCount = 100;
    private const int PredictWarmUp = 5;

    private sealed record Side(
        double ExtractImagesPerSecond, double ExtractSeconds, List<double> EpochSeconds, double TestAccuracy,
        double RssIdle, double RssPeak, double RssAfter, double PredictP50, double PredictP95, double FePredictP50, double FePredictP95,
        string LoadExtract, string LoadFineTune);

    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string work, string backbone,
        int epochs, int rounds, string predictImage)
    {
        var size = options.CompareSize;
        var why = Reference.Available(options);
        Console.WriteLine($"TransferHub vs PyTorch, side by side (issue 16) · {size} px squash · batch {options.Batch} · {options.Threads} threads · " +
                          $"{dataset.Items.Count} images · fine-tune {epochs} epochs (SGD 1e-3 momentum 0.9, StepLR 7, crop 0.08–1 + flip) · " +
                          $"{rounds} interleaved round(s) · predict {PredictCount} × {Path.GetFileName(predictImage)}");
        Console.WriteLine(why is null
            ? $"PyTorch: {options.Python} (python3-torch), DataLoader with 2 workers, {options.Threads} threads"
            : $"PyTorch figures are NOT measured: {why}. TransferHub's figures only.");
        var weights = Path.Combine(work, "backbone-vs.pt");
        using (var b = registry.Create(backbone)) b.save_py(weights);
        var splitFile = Path.Combine(work, "split-vs.csv");
        dataset.WriteSplit(splitFile);

        var models = new ModelStore(Path.Combine(work, "models-vs"));
        var runtime = TorchRuntime.Initialize(new TransferHub.Worker.WorkerOptions { Device = TransferHub.Worker.DevicePreference.Cpu, TorchThreads = options.Threads },
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var predictor = new Predictor(models, registry, runtime, 64_000_000);
        var image = File.ReadAllBytes(predictImage);
        WarmOrtSession(registry, backbone, size);

        var hub = new List<Side>();
        var torchSide = new List<Side>();
        for (var round = 0; round < rounds; round++)
        {
            hub.Add(RunHub(options, registry, store, dataset, work, backbone, epochs, round, models, predictor, image));
            PrintRound("TransferHub", round, hub[^1]);
            if (why is null)
            {
                torchSide.Add(RunTorch(options, splitFile, weights, epochs, predictImage));
                PrintRound("PyTorch", round, torchSide[^1]);
            }
        }
        Console.WriteLine();
        PrintTable(hub, torchSide, why);
    }

    /// <summary>Builds the shared ONNX Runtime session the way a worker's first frozen job does, so that timing starts
    /// with it ready (as PyTorch's timing starts with its model loaded).</summary>
    private static void WarmOrtSession(BackboneRegistry registry, string backbone, int size)
    {
        using var b = registry.Create(backbone);
        b.eval();
        FrozenFeatures.Compute(b, 1, new float[3 * size * size], 1, size, torch.CPU);
    }

    private static Side RunHub(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string work, string backbone,
        int epochs, int round, ModelStore models, Predictor predictor, byte[] image)
    {
        var size = options.CompareSize;
        // (a) Feature extraction with a cold feature cache: FeaturesReady's seconds = read + decode + transform + ORT.
        var loadExtract = LoadAverage();
        var fe = new Observer();
        var feSpec = dataset.Spec($"vs-fe-{round}", backbone, TrainingMode.FeatureExtraction, 1, size, options.Batch) with { Seed = 0 };
        var feOutcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-vs-{round}")), torch.CPU).Run(feSpec, fe, CancellationToken.None);
        var feId = $"vs-fe-{round}";
        Save(models, feId, feSpec, feOutcome);
        feOutcome.Model.Dispose();

        // (b, c) Fine-tune with the tutorial's recipe, resident memory around it.
        MemoryRelease.AfterJob();
        var loadFineTune = LoadAverage();
        var idle = Rss(Environment.ProcessId);
        var spec = FineTuneSpeedBench.TutorialRecipe(dataset.Spec($"vs-ft-{round}", backbone, TrainingMode.FineTune, epochs, size, options.Batch));
        var ft = new Observer();
        TrainingOutcome outcome;
        double peak;
        using (var sampler = new RssSampler(Environment.ProcessId))
        {
            outcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-vs-ft-{round}")), torch.CPU).Run(spec, ft, CancellationToken.None);
            var ftId = $"vs-ft-{round}";
            Save(models, ftId, spec, outcome);
            outcome.Model.Dispose();
            peak = sampler.Peak;
        }
        MemoryRelease.AfterJob();
        var after = Rss(Environment.ProcessId);

        // (d) Predict of the loaded fine-tuned model, and of the feature-extraction model (its backbone on ONNX Runtime).
        var (p50, p95) = TimePredict(() => predictor.Predict($"vs-ft-{round}", image, 3));
        var (feP50, feP95) = TimePredict(() => predictor.Predict(feId, image, 3));
        var extractSeconds = fe.Ready!.Seconds;
        return new Side(fe.Ready.Computed / extractSeconds, extractSeconds, [.. ft.Epochs.Select(e => e.Seconds)], outcome.Report.Accuracy,
            idle, peak, after, p50, p95, feP50, feP95, loadExtract, loadFineTune);
    }

    private static Side RunTorch(BenchOptions options, string splitFile, string weights, int epochs, string predictImage)
    {
        var loadExtract = LoadAverage();
        using var extract = Reference.RunJson(Reference.Start(options, splitFile, weights, "--mode", "extract-once", "--workers", "2"));
        var loadFineTune = LoadAverage();
        double peak;
        JsonDocument ft;
        {
            var psi = Reference.Start(options, splitFile, weights, "--mode", "fine-tune", "--workers", "2", "--optimizer", "sgd", "--lr", "1e-3",
                "--backbone-lr-mult", "1", "--crop-scale-min", "0.08", "--step-size", "7", "--epochs", epochs.ToString(CultureInfo.InvariantCulture),
                "--predict-image", predictImage, "--predict-count", PredictCount.ToString(CultureInfo.InvariantCulture), "--breakdown");
            using var process = Process.Start(psi)!;
            using var sampler = new RssSampler(process.Id);
            ft = Reference.Finish(process);
            peak = sampler.Peak;
        }
        using (ft)
        {
            var r = ft.RootElement;
            var predict = r.GetProperty("predict_ms");
            // Where PyTorch's epochs went (the same parts as --fine-tune-breakdown times for TransferHub).
            foreach (var e in r.GetProperty("epochs").EnumerateArray())
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    PyTorch epoch {e.GetProperty("epoch").GetInt32()}: wait for batch {e.GetProperty("wait").GetDouble():F2} s · " +
                    $"forward + loss {e.GetProperty("forward").GetDouble():F2} · backward {e.GetProperty("backward").GetDouble():F2} · step {e.GetProperty("step").GetDouble():F2} · " +
                    $"loss read {e.GetProperty("read").GetDouble():F2} · validation {e.GetProperty("validation").GetDouble():F2} · epoch {e.GetProperty("seconds").GetDouble():F2}"));
            return new Side(extract.RootElement.GetProperty("images_per_second").GetDouble(), extract.RootElement.GetProperty("seconds").GetDouble(),
                [.. r.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("seconds").GetDouble())], r.GetProperty("test_accuracy").GetDouble(),
                r.GetProperty("rss_idle_mib").GetDouble(), peak, r.GetProperty("rss_after_mib").GetDouble(),
                predict.GetProperty("p50").GetDouble(), predict.GetProperty("p95").GetDouble(), double.NaN, double.NaN, loadExtract, loadFineTune);
        }
    }

    private static void Save(ModelStore models, string id, TrainingSpec spec, TrainingOutcome outcome) =>
        models.Save(id, s => ModelArtifact.Save(s, outcome.Model, new ModelMetadata
        {
            ModelId = id, JobId = spec.JobId, Backbone = outcome.Backbone.Name, BackboneDisplayName = outcome.Backbone.DisplayName,
            BackboneWeightsSha256 = outcome.WeightsSha256, BackboneFrozen = spec.Mode != TrainingMode.FineTune, ClassNames = spec.ClassNames,
            ImageSize = spec.ImageSize, Resize = spec.Resize, Normalization = outcome.Backbone.Normalization, HiddenUnits = spec.HiddenUnits,
            Dropout = spec.Dropout, PooledStages = outcome.Model.PooledStages, Temperature = outcome.Model.Temperature,
            TemperatureFittedOn = outcome.Calibration.FittedOn, Mode = spec.Mode.ToString(), BestEpoch = outcome.BestEpoch,
            Accuracy = outcome.Report.Accuracy, EvaluatedSplit = outcome.EvaluatedSplit.ToString(), DatasetVersion = "bench", CreatedAt = DateTimeOffset.UtcNow,
        }));

    private static (double P50, double P95) TimePredict(Action predict)
    {
        for (var i = 0; i < PredictWarmUp; i++) predict();
        var times = new double[PredictCount];
        for (var i = 0; i < PredictCount; i++)
        {
            var start = Stopwatch.GetTimestamp();
            predict();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return (Percentile(times, 50), Percentile(times, 95));
    }

    /// <summary>Nearest rank, as the PyTorch script computes it.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The 1-, 5- and 15-minute load averages (/proc/loadavg).</summary>
    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    /// <summary>VmRSS of one process in MiB (NaN once it is gone).</summary>
    internal static double Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return double.NaN;
    }

    private static void PrintRound(string who, int round, Side s) =>
        Console.WriteLine($"  round {round + 1} {who}: extract {s.ExtractImagesPerSecond:F1} img/s ({s.ExtractSeconds:F2} s; load {s.LoadExtract}) · " +
                          $"fine-tune s/epoch {string.Join(" ", s.EpochSeconds.Select(e => e.ToString("F1", CultureInfo.InvariantCulture)))} · test {s.TestAccuracy:P1} · " +
                          $"RSS idle/peak/after {s.RssIdle:F0}/{s.RssPeak:F0}/{s.RssAfter:F0} MiB · predict p50/p95 {s.PredictP50:F1}/{s.PredictP95:F1} ms" +
                          (double.IsNaN(s.FePredictP50) ? "" : $" (feature-extraction model {s.FePredictP50:F1}/{s.FePredictP95:F1})") + $" · load {s.LoadFineTune}");

    private static void PrintTable(List<Side> hub, List<Side> pt, string? why)
    {
        static double Median(IEnumerable<double> v)
        {
            var s = v.Order().ToArray();
            return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
        static string Cells(List<Side> sides, Func<Side, double> f, string format) =>
            sides.Count == 0 ? "—" : $"{Median(sides.Select(f)).ToString(format, CultureInfo.InvariantCulture)}" +
                                     (sides.Count > 1 ? $" ({string.Join(", ", sides.Select(s => f(s).ToString(format, CultureInfo.InvariantCulture)))})" : "");
        // higherIsBetter: TransferHub / PyTorch of the medians; for times, PyTorch / TransferHub (a speed-up: > 1 = TransferHub faster).
        string Ratio(Func<Side, double> f, bool higherIsBetter)
        {
            if (pt.Count == 0) return "—";
            double h = Median(hub.Select(f)), p = Median(pt.Select(f));
            return higherIsBetter ? $"{h / p:F2}×" : $"{p / h:F2}× (speed)";
        }
        Console.WriteLine("| measure (median of rounds; each round in brackets) | TransferHub | PyTorch 1.13 | TransferHub / PyTorch |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| feature extraction, every image once, decode included: img/s | {Cells(hub, s => s.ExtractImagesPerSecond, "F1")} | {Cells(pt, s => s.ExtractImagesPerSecond, "F1")} | {Ratio(s => s.ExtractImagesPerSecond, true)} |");
        Console.WriteLine($"| fine-tune epoch 1: s | {Cells(hub, s => s.EpochSeconds[0], "F1")} | {Cells(pt, s => s.EpochSeconds[0], "F1")} | {Ratio(s => s.EpochSeconds[0], false)} |");
        if (hub[0].EpochSeconds.Count > 1)
            Console.WriteLine($"| fine-tune epochs 2+: s/epoch | {Cells(hub, s => s.EpochSeconds.Skip(1).Average(), "F2")} | {Cells(pt, s => s.EpochSeconds.Skip(1).Average(), "F2")} | {Ratio(s => s.EpochSeconds.Skip(1).Average(), false)} |");
        Console.WriteLine($"| fine-tune, all epochs (goal 2: ≥ 1.05×): s/epoch | {Cells(hub, s => s.EpochSeconds.Average(), "F2")} | {Cells(pt, s => s.EpochSeconds.Average(), "F2")} | {Ratio(s => s.EpochSeconds.Average(), false)} |");
        Console.WriteLine($"| fine-tune test accuracy | {Cells(hub, s => s.TestAccuracy * 100, "F1")} % | {(pt.Count == 0 ? "—" : Cells(pt, s => s.TestAccuracy * 100, "F1") + " %")} | |");
        Console.WriteLine($"| resident memory idle (model loaded): MiB | {Cells(hub, s => s.RssIdle, "F0")} | {Cells(pt, s => s.RssIdle, "F0")} | {Ratio(s => s.RssIdle, true)} |");
        Console.WriteLine($"| resident memory peak during fine-tune (PyTorch: with its DataLoader workers): MiB | {Cells(hub, s => s.RssPeak, "F0")} | {Cells(pt, s => s.RssPeak, "F0")} | {Ratio(s => s.RssPeak, true)} |");
        Console.WriteLine($"| resident memory after the run: MiB | {Cells(hub, s => s.RssAfter, "F0")} | {Cells(pt, s => s.RssAfter, "F0")} | {Ratio(s => s.RssAfter, true)} |");
        Console.WriteLine($"| predict, fine-tuned model loaded: p50 ms | {Cells(hub, s => s.PredictP50, "F1")} | {Cells(pt, s => s.PredictP50, "F1")} | {Ratio(s => s.PredictP50, false)} |");
        Console.WriteLine($"| predict, fine-tuned model loaded: p95 ms | {Cells(hub, s => s.PredictP95, "F1")} | {Cells(pt, s => s.PredictP95, "F1")} | {Ratio(s => s.PredictP95, false)} |");
        Console.WriteLine($"| predict, feature-extraction model (ONNX Runtime backbone): p50 / p95 ms | {Cells(hub, s => s.FePredictP50, "F1")} / {Cells(hub, s => s.FePredictP95, "F1")} | (same network as the row above) | {(pt.Count == 0 ? "—" : $"{Median(pt.Select(s => s.PredictP50)) / Median(hub.Select(s => s.FePredictP50)):F2}× (p50 speed)")} |");
        Console.WriteLine($"load average (1/5/15 min) before each fine-tune: TransferHub {string.Join("; ", hub.Select(s => s.LoadFineTune))}" +
                          (pt.Count == 0 ? "" : $" · PyTorch {string.Join("; ", pt.Select(s => s.LoadFineTune))}"));
        if (why is not null) Console.WriteLine($"PyTorch columns empty: {why}.");
    }

    private sealed class Observer : ITrainingObserver
    {
        public List<EpochResult> Epochs { get; } = [];
        public FeaturesReady? Ready { get; private set; }
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch) => Epochs.Add(epoch);
        public void Log(string level, string message) { }
        public void Features(FeaturesReady ready) => Ready = ready;
    }

    /// <summary>Polls the resident set of a process and its descendants every 100 ms on a background thread; keeps the peak.</summary>
    private sealed class RssSampler : IDisposable
    {
        private readonly int _pid;
        private readonly Thread _thread;
        private volatile bool _stop;
        private double _peak;

        public RssSampler(int pid)
        {
            _pid = pid;
            _thread = new Thread(Loop) { IsBackground = true, Name = "rss-sampler" };
            _thread.Start();
        }

        public double Peak
        {
            get
            {
                Sample();
                return Volatile.Read(ref _peak);
            }
        }

        private void Loop()
        {
            while (!_stop)
            {
                Sample();
                Thread.Sleep(100);
            }
        }

        private void Sample()
        {
            var total = Tree(_pid).Select(Rss).Where(r => !double.IsNaN(r)).Sum();
            double seen;
            do seen = Volatile.Read(ref _peak);
            while (total > seen && Interlocked.CompareExchange(ref _peak, total, seen) != seen);
        }

        private static IEnumerable<int> Tree(int pid)
        {
            yield return pid;
            string children;
            try { children = File.ReadAllText($"/proc/{pid}/task/{pid}/children"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
            foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                foreach (var p in Tree(int.Parse(child, CultureInfo.InvariantCulture)))
                    yield return p;
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }
}
