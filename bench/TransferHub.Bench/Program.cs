// TransferHub worker benchmark. Not a test: it prints numbers to compare, with ratios measured in the same run.
//   dotnet run -c Release --project bench/TransferHub.Bench -- [--data DIR] [--sizes 128,224] [--epochs 3] [--no-reference]
//   dotnet run -c Release --project bench/TransferHub.Bench -- --autopilot [--data DIR] [--splits 3] [--budget 60] [--compare-size 224]
//     Autopilot vs the feature-extraction default on stratified 70/15/15 splits (seeds 0..splits-1), cold feature cache each run.
//   dotnet run -c Release --project bench/TransferHub.Bench -- --autopilot-splits [--splits 10] [--budget 60] [--compare-size 224] [--lp-ft-budget 600] [--lp-ft-always] [--lp-ft-epochs 5] [--outer-folds 5] [--selection highest-mean] [--no-reference] [--python PATH]
//     Accuracy only: FE default vs Auto over many splits on warm features; Auto − FE in test images per split.
//   dotnet run -c Release --project bench/TransferHub.Bench -- --frozen-inference [--compare-size 224] [--rounds 3]
//     Frozen-backbone inference, TorchSharp vs ONNX Runtime on the same batches (FrozenInferenceBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --explore-features [--data DIR] [--sizes 224,288]
//     Which feature views help the autopilot: repeated 5-fold CV over every image, per feature variant (FeatureExplore.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --label-issues [--first-seed 0] [--seeds 3] [--noise 0.1] [--compare-size 224] [--explore]
//     Label-issue finder (issue 13 part 2): flip 10 % of labels per seed, precision/recall of the flagged set (LabelIssueBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --near-duplicates [--compare-size 224] [--synthetic 10000]
//     Near-duplicates (issue 13 part 3): altered copies vs closest distinct images per embedding, thresholds, and the
//     grouping step on 10,000 synthetic vectors (NearDuplicateBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --fine-tune [--data DIR] [--splits 3] [--head-first 0,1,2|none] [--compare-size 128]
//     Fine-tune default with 0, 1, 2 … head-first epochs (issue 11 §3), and feature extraction with the class-imbalance
//     options, on the same stratified splits; test accuracy, macro-F1 (mean ± sd over splits) and wall time.
//   dotnet run -c Release --project bench/TransferHub.Bench -- --fine-tune-speed [--compare-size 224] [--ft-epochs 10] [--runs 1] [--rounds 3] [--pipeline-only|--no-pipeline]
//     Fine-tune wall and CPU seconds per epoch, first epoch apart, with the PyTorch tutorial's recipe (FineTuneSpeedBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --vs-pytorch [--epochs 10] [--rounds 2] [--compare-size 224] [--image PATH]
//     Issue 16 side by side with plain PyTorch, interleaved: feature extraction img/s, fine-tune s/epoch (tutorial recipe,
//     first epoch apart) and test accuracy, resident memory idle/peak/after, predict p50/p95; ratios (VsPyTorchBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --fine-tune-breakdown [--epochs 3] [--compare-size 224]
//     Where each fine-tune epoch's wall time goes: batch wait, to tensor, forward, backward, optimizer, validation (FineTuneSpeedBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --calibration [--splits 5] [--budget 30] [--compare-size 224]
//     Temperature, test ECE/NLL before and after, and the 95 %-precision "unknown" threshold on held-out vs test (CalibrationBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --predict-breakdown [--rounds 60] [--image PATH] [--compare-size 224]
//     Where one Predict's time goes in the worker: decode, transform, TorchSharp model, Predictor (PredictBreakdownBench.cs).
//   dotnet run -c Release --project bench/TransferHub.Bench -- --decode-memory [--megapixels 64]
//     Peak memory of decoding one large image against its decoded size (DecodeMemoryBench.cs).
// DIR is a folder-per-class image folder (default .samples/tuxpaint, made by scripts/tuxpaint-sample.sh).
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

var options = BenchOptions.Parse(args);
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
torch.set_num_threads(options.Threads);
// As the worker does at start-up (TorchRuntime.Initialize); --default-malloc keeps glibc's defaults to compare.
var mallocTuned = !args.Contains("--default-malloc") && TransferHub.Worker.Engine.NativeAllocator.Configure();
var work = Path.Combine(Path.GetTempPath(), "transferhub-bench-" + Environment.ProcessId);
Directory.CreateDirectory(work);
try
{
    Console.WriteLine($"TransferHub worker benchmark · libtorch {torch.__version__} · {options.Threads} torch threads · {Environment.ProcessorCount} cores · glibc malloc {(mallocTuned ? "tuned (NativeAllocator)" : "defaults")}");
    var registry = BackboneRegistry.Create(Path.Combine(work, "weights"), Path.Combine(AppContext.BaseDirectory, "pretrained"), NullLogger.Instance);
    const string backboneName = "resnet18x3-imagenet";
    if (args.Contains("--predict-breakdown"))
    {
        PredictBreakdownBench.Run(options, registry, work, backboneName, int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "60"),
            args.SkipWhile(a => a != "--image").Skip(1).FirstOrDefault() ?? Path.Combine(Reference.FindRepoRoot(), "tests", "TransferHub.Worker.Tests", "TestData", "photos", "chelsea.jpg"));
        return;
    }
    if (args.Contains("--decode-memory"))
    {
        DecodeMemoryBench.Run(int.Parse(args.SkipWhile(a => a != "--megapixels").Skip(1).FirstOrDefault() ?? "64"));
        return;
    }
    var store = new ImageStore(Path.Combine(work, "images"), 64_000_000);
    var dataset = Dataset.Load(options.Data, store);
    Console.WriteLine($"data: {options.Data}: {dataset.Items.Count} images, {dataset.Classes.Count} classes " +
        $"(train {dataset.Items.Count(i => i.Split == DataSplit.Train)}, val {dataset.Items.Count(i => i.Split == DataSplit.Val)}, test {dataset.Items.Count(i => i.Split == DataSplit.Test)})");
    Console.WriteLine();
    if (args.Contains("--explore-features"))
    {
        FeatureExplore.Run(options, registry, store, dataset, backboneName,
            (args.SkipWhile(a => a != "--sizes").Skip(1).FirstOrDefault() ?? "224,288").Split(',').Select(int.Parse).ToArray());
        return;
    }
    if (args.Contains("--explore-blocks"))
    {
        BlockExplore.Run(registry, store, dataset, backboneName);
        return;
    }
    if (args.Contains("--explore-views"))
    {
        ViewExplore.Run(options, registry, store, dataset, backboneName, int.Parse(args.SkipWhile(a => a != "--views").Skip(1).FirstOrDefault() ?? "8"),
            float.Parse(args.SkipWhile(a => a != "--crop-min").Skip(1).FirstOrDefault() ?? "0.5", CultureInfo.InvariantCulture), work);
        return;
    }
    if (args.Contains("--label-issues"))
    {
        LabelIssueBench.Run(options, registry, store, work, dataset, backboneName,
            int.Parse(args.SkipWhile(a => a != "--first-seed").Skip(1).FirstOrDefault() ?? "0"), int.Parse(args.SkipWhile(a => a != "--seeds").Skip(1).FirstOrDefault() ?? "3"),
            double.Parse(args.SkipWhile(a => a != "--noise").Skip(1).FirstOrDefault() ?? "0.1", CultureInfo.InvariantCulture), args.Contains("--explore"));
        return;
    }
    if (args.Contains("--near-duplicates"))
    {
        NearDuplicateBench.Run(options, registry, store, work, dataset, backboneName, int.Parse(args.SkipWhile(a => a != "--synthetic").Skip(1).FirstOrDefault() ?? "10000"));
        return;
    }
    if (args.Contains("--frozen-inference"))
    {
        FrozenInferenceBench.Run(options, registry, store, dataset, backboneName, int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "3"));
        return;
    }
    if (args.Contains("--calibration"))
    {
        CalibrationBench.Run(options, registry, store, work, backboneName, int.Parse(args.SkipWhile(a => a != "--splits").Skip(1).FirstOrDefault() ?? "5"),
            int.Parse(args.SkipWhile(a => a != "--budget").Skip(1).FirstOrDefault() ?? "30"));
        return;
    }
    if (args.Contains("--autopilot-splits"))
    {
        AutopilotSplitsBench.Run(options, registry, store, work, backboneName, int.Parse(args.SkipWhile(a => a != "--splits").Skip(1).FirstOrDefault() ?? "10"),
            int.Parse(args.SkipWhile(a => a != "--budget").Skip(1).FirstOrDefault() ?? "60"),
            int.Parse(args.SkipWhile(a => a != "--lp-ft-budget").Skip(1).FirstOrDefault() ?? "0"),
            new TransferHub.Worker.Engine.Autopilot.LpFtOptions
            {
                Policy = args.Contains("--lp-ft-always") ? TransferHub.Worker.Engine.Autopilot.LpFtPolicy.Always : TransferHub.Worker.Engine.Autopilot.LpFtPolicy.WhenBudgetAllows,
                Epochs = int.Parse(args.SkipWhile(a => a != "--lp-ft-epochs").Skip(1).FirstOrDefault() ?? "5"),
            }, int.Parse(args.SkipWhile(a => a != "--outer-folds").Skip(1).FirstOrDefault() ?? "0"),
            args.SkipWhile(a => a != "--selection").Skip(1).FirstOrDefault() == "highest-mean"
                ? TransferHub.Worker.Engine.Autopilot.SelectionRule.HighestMean : TransferHub.Worker.Engine.Autopilot.SelectionRule.BeatTheDefault);
        return;
    }
    if (args.Contains("--vs-pytorch"))
    {
        // The issue's figures are at 224 px unless --compare-size says otherwise.
        VsPyTorchBench.Run(args.Contains("--compare-size") ? options : options with { CompareSize = 224 }, registry, store, dataset, work, backboneName, int.Parse(args.SkipWhile(a => a != "--epochs").Skip(1).FirstOrDefault() ?? "10"),
            int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "2"),
            args.SkipWhile(a => a != "--image").Skip(1).FirstOrDefault() ?? Path.Combine(Reference.FindRepoRoot(), "tests", "TransferHub.Worker.Tests", "TestData", "photos", "chelsea.jpg"));
        return;
    }
    if (args.Contains("--fine-tune-breakdown"))
    {
        FineTuneSpeedBench.Breakdown(options, registry, store, dataset, backboneName, int.Parse(args.SkipWhile(a => a != "--epochs").Skip(1).FirstOrDefault() ?? "3"));
        return;
    }
    if (args.Contains("--fine-tune-step"))
    {
        FineTuneSpeedBench.StepVariants(options, registry, backboneName, int.Parse(args.SkipWhile(a => a != "--steps").Skip(1).FirstOrDefault() ?? "5"),
            int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "3"));
        return;
    }
    if (args.Contains("--fine-tune-speed"))
    {
        if (!args.Contains("--no-pipeline"))
            FineTuneSpeedBench.PipelineOnly(options, store, dataset, registry, backboneName, 3, int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "3"));
        if (args.Contains("--pipeline-only")) return;
        FineTuneSpeedBench.Run(options, registry, store, dataset, work, backboneName, options.FineTuneEpochs,
            int.Parse(args.SkipWhile(a => a != "--runs").Skip(1).FirstOrDefault() ?? "1"));
        return;
    }
    if (args.Contains("--fine-tune"))
    {
        FineTuneBench.Run(options, registry, store, work, backboneName, int.Parse(args.SkipWhile(a => a != "--splits").Skip(1).FirstOrDefault() ?? "3"),
            (args.SkipWhile(a => a != "--head-first").Skip(1).FirstOrDefault() ?? "0,1,2") is var h && h == "none" ? [] : h.Split(',').Select(int.Parse).ToArray());
        return;
    }
    if (args.Contains("--autopilot"))
    {
        AutopilotBench.Run(options, registry, store, work, backboneName, int.Parse(args.SkipWhile(a => a != "--splits").Skip(1).FirstOrDefault() ?? "3"),
            int.Parse(args.SkipWhile(a => a != "--budget").Skip(1).FirstOrDefault() ?? "60"));
        return;
    }

    Console.WriteLine("| size | mode | model step img/s | whole pipeline img/s | pipeline / step |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var size in options.Sizes)
    {
        foreach (var fineTune in new[] { false, true })
        {
            using var backbone = registry.Create(backboneName);
            using var model = new ClassifierModel(backbone, new ClassifierHead(512, dataset.Classes.Count, 0, 0));
            model.Freeze(fineTune ? 0 : -1);
            var step = new ModelStep(model, fineTune, options.Batch, size, dataset.Classes.Count);
            var stepRate = step.MeasureAlone(batches: fineTune ? 3 : 6);
            var augmentation = fineTune ? new AugmentationOptions { CropScaleMin = 0.6f, CropScaleMax = 1, HorizontalFlip = true } : AugmentationOptions.None;
            var source = new BatchSource(store, new TransformPipeline(size, ResizeMode.Squash, augmentation, backbone.Descriptor.Normalization));
            var pipelineRate = step.MeasureWithPipeline(source, dataset.Train, fineTune ? 96 : 192);
            Console.WriteLine($"| {size} | {(fineTune ? "fine-tune (all stages)" : "feature extraction")} | {stepRate:F1} | {pipelineRate:F1} | {pipelineRate / stepRate:P0} |");
        }
    }

    Console.WriteLine();
    var trainer = new Trainer(registry, store, new FeatureCache(Path.Combine(work, "features")), torch.CPU);
    var feSpec = dataset.Spec("bench-fe", backboneName, TrainingMode.FeatureExtraction, options.FeatureEpochs, options.CompareSize, options.Batch);
    var feRecorder = new Recorder();
    var fe = trainer.Run(feSpec, feRecorder, CancellationToken.None);
    var feEpochs = feRecorder.Epochs;
    var later = feEpochs.Skip(1).Average(e => e.Seconds);
    Console.WriteLine($"feature extraction at {options.CompareSize}px: epoch 1 {feEpochs[0].Seconds:F2} s (features computed), " +
        $"epochs 2+ {later * 1000:F1} ms each → {feEpochs[0].Seconds / later:F0}× faster; test accuracy {fe.Report.Accuracy:P1}");
    fe.Model.Dispose();

    if (!options.Reference) return;
    Console.WriteLine();
    var weights = Path.Combine(work, "backbone.pt");
    using (var backbone = registry.Create(backboneName)) backbone.save_py(weights);
    var splitFile = Path.Combine(work, "split.csv");
    dataset.WriteSplit(splitFile);
    Console.WriteLine($"end to end vs PyTorch reference ({options.CompareSize}px, batch {options.Batch}, same images/split/weights):");
    Console.WriteLine("| mode | epochs | TransferHub worker s | PyTorch reference s | reference / worker | worker test acc | reference test acc |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    foreach (var (mode, epochs) in new[] { (TrainingMode.FeatureExtraction, options.FeatureEpochs), (TrainingMode.FineTune, options.FineTuneEpochs) })
    {
        var spec = dataset.Spec($"bench-{mode}", backboneName, mode, epochs, options.CompareSize, options.Batch) with
        {
            Augmentation = mode == TrainingMode.FineTune ? new AugmentationOptions { CropScaleMin = 0.6f, CropScaleMax = 1, HorizontalFlip = true } : AugmentationOptions.None,
        };
        // A fresh feature cache: the worker's first run computes every feature, as the reference does.
        var fresh = new Trainer(registry, store, new FeatureCache(Path.Combine(work, "features-" + mode)), torch.CPU);
        var clock = Stopwatch.StartNew();
        var outcome = fresh.Run(spec, new Recorder(), CancellationToken.None);
        var workerSeconds = clock.Elapsed.TotalSeconds;
        outcome.Model.Dispose();
        var reference = Reference.Run(options, splitFile, weights, mode, epochs);
        Console.WriteLine($"| {mode} | {epochs} | {workerSeconds:F1} | {reference.TotalSeconds:F1} | {reference.TotalSeconds / workerSeconds:F2} | {outcome.Report.Accuracy:P1} | {reference.TestAccuracy:P1} |");
    }
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}

static class AutopilotBench
{
    /// <summary>Per split: today's feature-extraction default (JobDefaults: Adam 3e-3, 30 epochs, patience 5, linear head)
    /// and Auto (budget seconds), each with a fresh feature cache, at --compare-size px; test accuracy, macro-F1, wall time.</summary>
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits, int budget)
    {
        Console.WriteLine($"autopilot vs feature-extraction default · {options.CompareSize}px squash · budget {budget} s · cold feature cache per run");
        Console.WriteLine("Auto cold = first run (features of both views computed inside the budget); Auto warm = the same job again on the cached features.");
        Console.WriteLine("| split | FE default acc | FE macro-F1 | FE wall s | Auto cold acc | macro-F1 | wall s | winner (CV mean, 95 % CI) | scored / skipped | folds | Auto warm acc | macro-F1 | wall s | winner (CV mean, 95 % CI) | scored / skipped | folds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var rows = new List<(double FeAcc, double FeF1, double FeS, double AutoAcc, double AutoF1, double AutoS, double WarmAcc, double WarmF1, double WarmS)>();
        for (var split = 0; split < splits; split++)
        {
            var dataset = Dataset.Load(options.Data, store, split);
            var fe = dataset.FeatureExtractionDefault($"bench-fe-{split}", backbone, options, seed: split);
            var clock = Stopwatch.StartNew();
            var feOutcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-fe-{split}")), torch.CPU).Run(fe, new Recorder(), CancellationToken.None);
            var feSeconds = clock.Elapsed.TotalSeconds;
            feOutcome.Model.Dispose();

            var auto = fe with { JobId = $"bench-auto-{split}", Mode = TrainingMode.Auto, TimeBudgetSeconds = budget };
            clock.Restart();
            var autoOutcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-auto-{split}")), torch.CPU).Run(auto, new Recorder(), CancellationToken.None);
            var autoSeconds = clock.Elapsed.TotalSeconds;
            autoOutcome.Model.Dispose();
            clock.Restart();
            var warmOutcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-auto-{split}")), torch.CPU).Run(auto, new Recorder(), CancellationToken.None);
            var warmSeconds = clock.Elapsed.TotalSeconds;
            warmOutcome.Model.Dispose();
            static string Describe(TrainingOutcome o)
            {
                var selection = o.Autopilot!.Selection;
                var best = selection.Leaderboard[0];
                return $"{o.Report.Accuracy:P1} | {o.Report.MacroAverage.F1:F3} | {{0}} | {best.Name} {best.Mean:P1} ({best.Low:P1}–{best.High:P1}) | " +
                    $"{selection.Leaderboard.Count} / {selection.Skipped.Count} | {selection.FoldsPerRepeat}×{selection.Repeats}";
            }
            Console.WriteLine($"| {split} | {feOutcome.Report.Accuracy:P1} | {feOutcome.Report.MacroAverage.F1:F3} | {feSeconds:F1} | " +
                string.Format(Describe(autoOutcome), autoSeconds.ToString("F1")) + " | " + string.Format(Describe(warmOutcome), warmSeconds.ToString("F1")) + " |");
            rows.Add((feOutcome.Report.Accuracy, feOutcome.Report.MacroAverage.F1, feSeconds, autoOutcome.Report.Accuracy, autoOutcome.Report.MacroAverage.F1, autoSeconds,
                warmOutcome.Report.Accuracy, warmOutcome.Report.MacroAverage.F1, warmSeconds));
        }
        Console.WriteLine($"| mean | {rows.Average(r => r.FeAcc):P1} | {rows.Average(r => r.FeF1):F3} | {rows.Average(r => r.FeS):F1} | {rows.Average(r => r.AutoAcc):P1} | " +
            $"{rows.Average(r => r.AutoF1):F3} | {rows.Average(r => r.AutoS):F1} | | | | {rows.Average(r => r.WarmAcc):P1} | {rows.Average(r => r.WarmF1):F3} | {rows.Average(r => r.WarmS):F1} | | | |");
        // What WorkerInfo.feature_images_per_second would report (the last cold pass: Auto's, image + flip).
        Console.WriteLine($"feature throughput of the last cold pass: {TransferHub.Worker.Engine.Training.FeatureThroughput.PassesPerSecond:F1} forward passes/s at 224 px (JobDefaults.ReferenceFeaturePassesPerSecond: {TransferHub.Contracts.Jobs.JobDefaults.ReferenceFeaturePassesPerSecond})");
    }
}

/// <summary>Accuracy over many splits with warm feature caches (the features are computed once, then every split's
/// FE default and Auto run on them): test accuracy and macro-F1 mean ± sd, and Auto − FE in test images per split.
/// Wall times here are warm; the cold figures come from <see cref="AutopilotBench"/>.</summary>
static class AutopilotSplitsBench
{
    /// <param name="lpFtBudget">0: no LP-FT row; otherwise Auto again with this budget, so that LP-FT (ADR 036) runs
    /// when its measured estimate fits.</param>
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits, int budget,
        int lpFtBudget, TransferHub.Worker.Engine.Autopilot.LpFtOptions lpFtOptions, int outerFolds = 0,
        TransferHub.Worker.Engine.Autopilot.SelectionRule rule = TransferHub.Worker.Engine.Autopilot.SelectionRule.BeatTheDefault)
    {
        Console.WriteLine($"Auto's selection rule: {rule}");
        Console.WriteLine(outerFolds > 0
            ? $"autopilot vs feature-extraction default, cross-tested: {splits} repetition(s) × {outerFolds} stratified outer folds (test = one fold, val = 15 % of the rest, every image a test image once per repetition) · {options.CompareSize}px squash · budget {budget} s · warm feature cache"
            : $"autopilot vs feature-extraction default over {splits} stratified 70/15/15 splits · {options.CompareSize}px squash · budget {budget} s · warm feature cache");
        Console.WriteLine($"load average at start: {LoadAverage()}");
        var reference = options.Reference ? Reference.Available(options) : "off (--no-reference)";
        var weights = Path.Combine(work, "backbone.pt");
        if (reference is null) using (var b = registry.Create(backbone)) b.save_py(weights);
        Console.WriteLine(reference is null
            ? $"PyTorch reference: linear probe (bench/reference/pytorch_reference.py --mode linear-probe) with {options.Python}"
            : $"PyTorch reference: not run — {reference}");
        Console.WriteLine(lpFtBudget > 0
            ? $"LP-FT row: Auto with budget {lpFtBudget} s, LP-FT {lpFtOptions.Epochs} epochs, {(lpFtOptions.Policy == TransferHub.Worker.Engine.Autopilot.LpFtPolicy.Always ? "forced (--lp-ft-always)" : "when its estimate fits")}"
            : "LP-FT row: not run (--lp-ft-budget 0)");
        Console.WriteLine("| split | test images | FE acc | FE macro-F1 | Auto acc | Auto macro-F1 | Auto − FE (images) | Auto winner | Auto CV | Auto s | " +
            "LP-FT acc | LP-FT macro-F1 | LP-FT − FE (images) | LP-FT held-out: tuned vs probe | LP-FT s | PyTorch acc | PyTorch macro-F1 | PyTorch s | load |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var cache = new FeatureCache(Path.Combine(work, "features-splits"));
        var rows = new List<(double Fe, double FeF1, double Auto, double AutoF1, int Diff, double? Lp, double? LpF1, int? LpDiff, double? Py, double? PyF1, int? PyDiff)>();
        var feCorrect = 0;
        var autoCorrect = 0;
        var tested = 0;
        for (var run = 0; run < splits * Math.Max(1, outerFolds); run++)
        {
            var split = run;
            var dataset = outerFolds > 0 ? Dataset.LoadOuterFold(options.Data, store, run / outerFolds, run % outerFolds, outerFolds) : Dataset.Load(options.Data, store, split);
            var splitLabel = outerFolds > 0 ? $"r{run / outerFolds} f{run % outerFolds}" : $"{split}";
            var fe = dataset.FeatureExtractionDefault($"splits-fe-{split}", backbone, options, seed: split);
            var feOutcome = new Trainer(registry, store, cache, torch.CPU).Run(fe, new Recorder(), CancellationToken.None);
            feOutcome.Model.Dispose();
            var auto = fe with { JobId = $"splits-auto-{split}", Mode = TrainingMode.Auto, TimeBudgetSeconds = budget, AutoSelection = rule };
            var clock = Stopwatch.StartNew();
            var autoOutcome = new Trainer(registry, store, cache, torch.CPU).Run(auto, new Recorder(), CancellationToken.None);
            var seconds = clock.Elapsed.TotalSeconds;
            autoOutcome.Model.Dispose();
            var tests = dataset.Items.Count(i => i.Split == DataSplit.Test);
            int Images(double accuracy) => (int)Math.Round((accuracy - feOutcome.Report.Accuracy) * tests);
            var diff = Images(autoOutcome.Report.Accuracy);
            feCorrect += (int)Math.Round(feOutcome.Report.Accuracy * tests);
            autoCorrect += (int)Math.Round(autoOutcome.Report.Accuracy * tests);
            tested += tests;
            var best = autoOutcome.Autopilot!.Selection.Leaderboard.First(s => s.Name == autoOutcome.Autopilot.Selection.Winner.Name);

            string lpCells = "| – | – | – | – | – ";
            (double? Acc, double? F1, int? Diff) lp = (null, null, null);
            if (lpFtBudget > 0)
            {
                clock.Restart();
                var lpOutcome = new Trainer(registry, store, cache, torch.CPU).Run(auto with { JobId = $"splits-lpft-{split}", TimeBudgetSeconds = lpFtBudget, LpFt = lpFtOptions },
                    new Recorder(), CancellationToken.None);
                var lpSeconds = clock.Elapsed.TotalSeconds;
                lpOutcome.Model.Dispose();
                var result = lpOutcome.Autopilot!.LpFt;
                var skipped = lpOutcome.Autopilot.Selection.Skipped.FirstOrDefault(x => x.Name.StartsWith(TransferHub.Worker.Engine.Autopilot.LinearProbeFineTune.NamePrefix, StringComparison.Ordinal));
                var held = result is null ? $"skipped: {skipped?.Reason}"
                    : $"{(result.Metric == "accuracy" ? "acc" : "macro-F1")} {result.TunedScore:F3} vs {result.ProbeScore:F3} on {result.HeldOutImages} → {(result.Kept ? "kept" : "dropped")}";
                lp = (lpOutcome.Report.Accuracy, lpOutcome.Report.MacroAverage.F1, Images(lpOutcome.Report.Accuracy));
                lpCells = $"| {lpOutcome.Report.Accuracy:P1} | {lpOutcome.Report.MacroAverage.F1:F3} | {lp.Diff:+0;-0;0} | {held} | {lpSeconds:F1} ";
            }

            string pyCells = "| – | – | – ";
            (double? Acc, double? F1, int? Diff) py = (null, null, null);
            if (reference is null)
            {
                var splitFile = Path.Combine(work, $"split-{split}.csv");
                dataset.WriteSplit(splitFile);
                var r = Reference.LinearProbe(options, splitFile, weights);
                py = (r.TestAccuracy, r.MacroF1, Images(r.TestAccuracy));
                pyCells = $"| {r.TestAccuracy:P1} | {r.MacroF1:F3} | {r.TotalSeconds:F1} ";
            }
            Console.WriteLine($"| {splitLabel} | {tests} | {feOutcome.Report.Accuracy:P1} | {feOutcome.Report.MacroAverage.F1:F3} | {autoOutcome.Report.Accuracy:P1} | " +
                $"{autoOutcome.Report.MacroAverage.F1:F3} | {diff:+0;-0;0} | {best.Name} | {(best.Metric == "accuracy" ? best.Mean.ToString("P1") : $"F1 {best.Mean:F3}")} | {seconds:F1} {lpCells}{pyCells}| {LoadAverage()} |");
            rows.Add((feOutcome.Report.Accuracy, feOutcome.Report.MacroAverage.F1, autoOutcome.Report.Accuracy, autoOutcome.Report.MacroAverage.F1, diff,
                lp.Acc, lp.F1, lp.Diff, py.Acc, py.F1, py.Diff));
        }
        static string MeanSd(IEnumerable<double> values, string format)
        {
            var list = values.ToList();
            if (list.Count == 0) return "–";
            var mean = list.Average();
            var sd = list.Count > 1 ? Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1)) : 0;
            return $"{mean.ToString(format)} ± {sd.ToString(format)}";
        }
        static string Sum(IEnumerable<int?> diffs) => diffs.All(d => d is null) ? "–" : $"{diffs.Sum(d => d ?? 0):+0;-0;0} in all; worst {diffs.Min(d => d ?? 0):+0;-0;0}";
        Console.WriteLine($"| mean ± sd | | {MeanSd(rows.Select(r => r.Fe * 100), "F1")} % | {MeanSd(rows.Select(r => r.FeF1), "F3")} | {MeanSd(rows.Select(r => r.Auto * 100), "F1")} % | " +
            $"{MeanSd(rows.Select(r => r.AutoF1), "F3")} | {rows.Sum(r => r.Diff):+0;-0;0} in all; worst {rows.Min(r => r.Diff):+0;-0;0} | | | | " +
            $"{MeanSd(rows.Where(r => r.Lp is not null).Select(r => r.Lp!.Value * 100), "F1")} % | {MeanSd(rows.Where(r => r.LpF1 is not null).Select(r => r.LpF1!.Value), "F3")} | {Sum(rows.Select(r => r.LpDiff))} | | | " +
            $"{MeanSd(rows.Where(r => r.Py is not null).Select(r => r.Py!.Value * 100), "F1")} % | {MeanSd(rows.Where(r => r.PyF1 is not null).Select(r => r.PyF1!.Value), "F3")} | | |");
        Console.WriteLine($"pooled over all {tested} test predictions: FE default {feCorrect} correct ({(double)feCorrect / tested:P1}), Auto {autoCorrect} ({(double)autoCorrect / tested:P1}): Auto − FE {(double)(autoCorrect - feCorrect) / tested * 100:+0.0;-0.0} points");
        Console.WriteLine($"load average at end: {LoadAverage()}");
    }

    /// <summary>The 1-, 5- and 15-minute load averages (other engineers share the machine).</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

static class FineTuneBench
{
    /// <summary>The web's fine-tune defaults (JobSettings.ForMode(FineTune) with the launch form's augmentation, as RunSpec
    /// sends them; the worker's JobDefaults fill the rest) at <paramref name="size"/> px.</summary>
    public static TrainingSpec FineTuneDefault(Dataset dataset, string id, string backbone, int size, int batch, long seed) =>
        dataset.Spec(id, backbone, TrainingMode.FineTune, TransferHub.Contracts.Jobs.JobDefaults.FineTuneEpochs, size, batch) with
        {
            UnfreezeStages = 1,
            LearningRate = (float)TransferHub.Contracts.Jobs.JobDefaults.FineTuneLearningRate,
            BackboneLrMultiplier = (float)TransferHub.Contracts.Jobs.JobDefaults.BackboneLrMultiplier,
            Schedule = LrSchedule.Cosine,
            EarlyStoppingPatience = TransferHub.Contracts.Jobs.JobDefaults.FineTunePatience,
            Augmentation = new AugmentationOptions
            {
                CropScaleMin = 0.6f, CropScaleMax = 1, HorizontalFlip = true, RotationDegrees = 10, Brightness = 0.2f, Contrast = 0.2f, Saturation = 0.2f,
            },
            Seed = seed,
        };

    /// <summary>Per split (seed = split): the fine-tune default with each head-first setting, then feature extraction's
    /// default with each class-imbalance option (one feature cache per split, cold for the first of them).</summary>
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits, int[] headFirst)
    {
        if (headFirst.Length > 0) RunFineTune(options, registry, store, work, backbone, splits, headFirst);
        RunImbalance(options, registry, store, work, backbone, splits);
    }

    private static void RunFineTune(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits, int[] headFirst)
    {
        var size = options.CompareSize;
        Console.WriteLine($"fine-tune head-first vs today's fine-tune default · {size}px squash · batch {options.Batch} · {options.Threads} torch threads · seeds = splits 0..{splits - 1}");
        Console.WriteLine("CPU s = the process's processor time during the run (all threads): less sensitive than wall time to other processes on the machine.");
        var fineTune = headFirst.ToDictionary(h => h, _ => new List<(double Acc, double F1, double Seconds, double Cpu, int BestEpoch, bool Early)>());
        var c = CultureInfo.InvariantCulture;
        var process = Process.GetCurrentProcess();
        Console.WriteLine("| split | head-first epochs | test acc | macro-F1 | wall s | CPU s | best epoch | stopped early |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var split = 0; split < splits; split++)
        {
            var dataset = Dataset.Load(options.Data, store, split);
            foreach (var h in headFirst)
            {
                var spec = FineTuneDefault(dataset, $"bench-ft-{split}-{h}", backbone, size, options.Batch, split) with { HeadFirstEpochs = h };
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var outcome = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-ft-{split}-{h}")), torch.CPU)
                    .Run(spec, new Recorder(), CancellationToken.None);
                var seconds = clock.Elapsed.TotalSeconds;
                process.Refresh();
                var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
                outcome.Model.Dispose();
                fineTune[h].Add((outcome.Report.Accuracy, outcome.Report.MacroAverage.F1, seconds, cpu, outcome.BestEpoch, outcome.StoppedEarly));
                Console.WriteLine($"| {split} | {h} | {outcome.Report.Accuracy:P1} | {outcome.Report.MacroAverage.F1:F3} | {seconds:F1} | {cpu:F1} | {outcome.BestEpoch} | {(outcome.StoppedEarly ? "yes" : "no")} |");
            }
        }
        Console.WriteLine();
        Console.WriteLine("| fine-tune (10 epochs, last stage, cosine, augmentation) | test acc mean ± sd | macro-F1 mean ± sd | wall s mean ± sd | CPU s mean ± sd | Δ acc vs first, per split (points) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var h in headFirst)
        {
            var rows = fineTune[h];
            var delta = string.Join(", ", rows.Select((r, i) => ((r.Acc - fineTune[headFirst[0]][i].Acc) * 100).ToString("+0.0;−0.0;0", c)));
            Console.WriteLine($"| head-first {h} | {Spread(rows.Select(r => r.Acc), true)} | {Spread(rows.Select(r => r.F1), false)} | " +
                $"{Spread(rows.Select(r => r.Seconds), false, "F1")} | {Spread(rows.Select(r => r.Cpu), false, "F1")} | {delta} |");
        }

    }

    private static void RunImbalance(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits)
    {
        var size = options.CompareSize;
        Console.WriteLine();
        Console.WriteLine($"feature extraction default (linear head, Adam 3e-3, 30 epochs, patience 5) with the class-imbalance options · {size}px · one feature cache per split");
        (string Name, Func<TrainingSpec, TrainingSpec> Apply)[] imbalance =
        [
            ("none", s => s),
            ("inverse-frequency weights", s => s with { ClassWeighting = TransferHub.Contracts.Jobs.ClassWeightingKind.InverseFrequency }),
            ("effective-number weights (β 0.999)", s => s with { ClassWeighting = TransferHub.Contracts.Jobs.ClassWeightingKind.EffectiveNumber }),
            ("effective-number weights (β 0.9)", s => s with { ClassWeighting = TransferHub.Contracts.Jobs.ClassWeightingKind.EffectiveNumber, ClassWeightBeta = 0.9 }),
            ("balanced sampling", s => s with { BalancedSampling = true }),
        ];
        var fe = imbalance.ToDictionary(o => o.Name, _ => new List<(double Acc, double F1, double Seconds)>());
        for (var split = 0; split < splits; split++)
        {
            var dataset = Dataset.Load(options.Data, store, split);
            var trainer = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-fe-imbalance-{split}")), torch.CPU);
            foreach (var (name, apply) in imbalance)
            {
                var spec = apply(dataset.Spec($"bench-fe-{split}", backbone, TrainingMode.FeatureExtraction, TransferHub.Contracts.Jobs.JobDefaults.FeatureExtractionEpochs,
                    size, options.Batch) with { EarlyStoppingPatience = TransferHub.Contracts.Jobs.JobDefaults.FeatureExtractionPatience, Seed = split });
                var clock = Stopwatch.StartNew();
                var outcome = trainer.Run(spec, new Recorder(), CancellationToken.None);
                fe[name].Add((outcome.Report.Accuracy, outcome.Report.MacroAverage.F1, clock.Elapsed.TotalSeconds));
                outcome.Model.Dispose();
            }
        }
        Console.WriteLine("| feature extraction | test acc mean ± sd | macro-F1 mean ± sd | wall s mean (first: cold features) | per split acc / macro-F1 |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (name, _) in imbalance)
        {
            var rows = fe[name];
            Console.WriteLine($"| {name} | {Spread(rows.Select(r => r.Acc), true)} | {Spread(rows.Select(r => r.F1), false)} | {rows.Average(r => r.Seconds):F1} | " +
                string.Join(", ", rows.Select(r => $"{r.Acc:P1} / {r.F1:F3}")) + " |");
        }
    }

    /// <summary>"mean ± sd" (sample standard deviation) over the splits; percentages for accuracies.</summary>
    private static string Spread(IEnumerable<double> values, bool percent, string format = "F3")
    {
        var list = values.ToList();
        var mean = list.Average();
        var sd = list.Count > 1 ? Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1)) : 0;
        return percent ? $"{mean * 100:F1} ± {sd * 100:F1} %" : $"{mean.ToString(format)} ± {sd.ToString(format)}";
    }
}

sealed class Recorder : ITrainingObserver
{
    public List<EpochResult> Epochs { get; } = [];
    public void Started(TrainingStarted started) { }
    public void Epoch(EpochResult epoch) => Epochs.Add(epoch);
    public void Log(string level, string message) { }
}

sealed record BenchOptions(string Data, int[] Sizes, int Batch, int Threads, int FeatureEpochs, int FineTuneEpochs, int CompareSize, bool Reference, string Python)
{
    public static BenchOptions Parse(string[] args)
    {
        string Get(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
        return new BenchOptions(
            Data: Get("--data", ".samples/tuxpaint"),
            Sizes: Get("--sizes", "128,224").Split(',').Select(int.Parse).ToArray(),
            Batch: int.Parse(Get("--batch", "32")),
            Threads: int.Parse(Get("--threads", Environment.ProcessorCount.ToString())),
            FeatureEpochs: int.Parse(Get("--fe-epochs", "10")),
            FineTuneEpochs: int.Parse(Get("--ft-epochs", "2")),
            CompareSize: int.Parse(Get("--compare-size", "128")),
            Reference: !args.Contains("--no-reference"),
            Python: Get("--python", "/usr/bin/python3"));
    }
}

sealed record Dataset(string Root, IReadOnlyList<string> Classes, IReadOnlyList<DatasetEntry> Items, IReadOnlyList<string> RelativePaths)
{
    public IReadOnlyList<DatasetEntry> Train => Items.Where(i => i.Split == DataSplit.Train).ToList();

    /// <summary>Every image of a folder-per-class tree; a stratified 70/15/15 split with a fixed seed.</summary>
    public static Dataset Load(string root, ImageStore store, int splitSeed = 0) => Load(root, store, splitSeed, null);

    /// <summary>Every image of a folder-per-class tree; test = outer fold <paramref name="fold"/> of a stratified
    /// <paramref name="folds"/>-fold partition (shuffled with <paramref name="repeat"/>), val = 15 % of the rest per
    /// class, train = the others. Over all folds of a repetition every image is a test image exactly once.</summary>
    public static Dataset LoadOuterFold(string root, ImageStore store, int repeat, int fold, int folds) =>
        Load(root, store, repeat, (fold, folds));

    private static Dataset Load(string root, ImageStore store, int splitSeed, (int Fold, int Folds)? outer)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"No dataset at {root}: run scripts/tuxpaint-sample.sh first, or pass --data DIR.");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var items = new List<DatasetEntry>();
        var paths = new List<string>();
        var random = new Random(splitSeed);
        for (var c = 0; c < classes.Count; c++)
        {
            var files = Directory.GetFiles(Path.Combine(root, classes[c]!)).Order(StringComparer.Ordinal).ToArray();
            random.Shuffle(files);
            for (var i = 0; i < files.Length; i++)
            {
                var bytes = File.ReadAllBytes(files[i]);
                var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
                store.Add(sha, files[i], bytes);
                var split = i < files.Length * 0.7 ? DataSplit.Train : i < files.Length * 0.85 ? DataSplit.Val : DataSplit.Test;
                if (outer is var (fold, folds))
                {
                    // Position among the class's non-test images: the first 15 % of them are val.
                    var rest = i - (i / folds + (i % folds > fold ? 1 : 0));
                    var restCount = files.Length - (files.Length / folds + (files.Length % folds > fold ? 1 : 0));
                    split = i % folds == fold ? DataSplit.Test : rest < Math.Round(restCount * 0.15) ? DataSplit.Val : DataSplit.Train;
                }
                if (items.Any(e => e.Sha256 == sha)) continue;
                items.Add(new DatasetEntry(sha, c, split));
                paths.Add($"{classes[c]}/{Path.GetFileName(files[i])}");
            }
        }
        return new Dataset(root, classes!, items, paths);
    }

    public TrainingSpec Spec(string id, string backbone, TrainingMode mode, int epochs, int size, int batch) => new()
    {
        JobId = id,
        Items = Items,
        ClassNames = Classes,
        Backbone = backbone,
        Mode = mode,
        Epochs = epochs,
        ImageSize = size,
        BatchSize = batch,
        LearningRate = mode == TrainingMode.FeatureExtraction ? 3e-3f : 1e-3f,
        BackboneLrMultiplier = 0.1f,
    };

    /// <summary>Today's feature-extraction default (JobDefaults: linear head, Adam, its learning rate, epochs and patience).</summary>
    public TrainingSpec FeatureExtractionDefault(string id, string backbone, BenchOptions options, long seed) =>
        Spec(id, backbone, TrainingMode.FeatureExtraction, TransferHub.Contracts.Jobs.JobDefaults.FeatureExtractionEpochs, options.CompareSize, options.Batch) with
        {
            LearningRate = (float)TransferHub.Contracts.Jobs.JobDefaults.FeatureExtractionLearningRate,
            EarlyStoppingPatience = TransferHub.Contracts.Jobs.JobDefaults.FeatureExtractionPatience,
            Seed = seed,
        };

    public void WriteSplit(string path) =>
        File.WriteAllLines(path, Items.Select((item, i) => $"{RelativePaths[i]},{item.Split.ToString().ToLowerInvariant()}"));
}

sealed class ModelStep(ClassifierModel model, bool fineTune, int batch, int size, int classes)
{
    private readonly TorchSharp.Modules.Adam _optimizer = torch.optim.Adam(model.parameters().Where(p => p.requires_grad), 1e-4);

    /// <summary>Images/s of the model step alone, on a batch that is already a tensor.</summary>
    public double MeasureAlone(int batches)
    {
        using var input = torch.randn(batch, 3, size, size);
        using var labels = torch.randint(0, classes, [batch], dtype: ScalarType.Int64);
        Step(input, labels); // warm-up
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < batches; i++) Step(input, labels);
        return batches * batch / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Images/s when the batches come from real files through decode + augment + normalise.</summary>
    public double MeasureWithPipeline(BatchSource source, IReadOnlyList<DatasetEntry> train, int images)
    {
        var order = Enumerable.Range(0, images).Select(i => i % train.Count).ToArray();
        long? seed = source.Pipeline.Augmentation.IsNone ? null : 1;
        var clock = Stopwatch.StartNew();
        var seen = 0;
        foreach (var b in source.Batches(train, order, batch, seed, epoch: 0, CancellationToken.None))
        {
            using var scope = torch.NewDisposeScope();
            Step(torch.tensor(b.Pixels, [b.Count, 3, size, size]), torch.tensor(b.Labels));
            seen += b.Count;
        }
        return seen / clock.Elapsed.TotalSeconds;
    }

    private void Step(Tensor input, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        if (!fineTune)
        {
            model.eval();
            using var noGrad = torch.no_grad();
            model.Backbone.forward(input);
            return;
        }
        model.TrainMode();
        var loss = nn.functional.cross_entropy(model.forward(input), labels);
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
    }
}

sealed record ReferenceResult(double TotalSeconds, double TestAccuracy, double MacroF1 = double.NaN);

static class Reference
{
    /// <summary>null when <see cref="BenchOptions.Python"/> imports torch and torchvision; otherwise why not.</summary>
    public static string? Available(BenchOptions options)
    {
        try
        {
            var psi = new ProcessStartInfo(options.Python) { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { "-c", "import torch, torchvision" } };
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null
                : $"{options.Python} cannot import torch and torchvision ({stderr.Trim().Split('\n')[^1]}); install Debian's python3-torch and python3-torchvision or pass --python";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{options.Python} cannot be started ({e.Message}); pass --python";
        }
    }

    /// <summary>The plain-PyTorch linear probe (extract once, L-BFGS logistic regression, L2 strength chosen on val) on
    /// the same weights, images and split.</summary>
    public static ReferenceResult LinearProbe(BenchOptions options, string split, string weights)
    {
        using var json = RunJson(Start(options, split, weights, "--mode", "linear-probe"));
        var root = json.RootElement;
        return new ReferenceResult(root.GetProperty("total_seconds").GetDouble(), root.GetProperty("test_accuracy").GetDouble(),
            root.GetProperty("test_macro_f1").GetDouble());
    }

    public static ReferenceResult Run(BenchOptions options, string split, string weights, TrainingMode mode, int epochs)
    {
        using var json = RunJson(Start(options, split, weights,
            "--mode", mode == TrainingMode.FineTune ? "fine-tune" : "feature-extraction", "--epochs", epochs.ToString(CultureInfo.InvariantCulture)));
        return new ReferenceResult(json.RootElement.GetProperty("total_seconds").GetDouble(), json.RootElement.GetProperty("test_accuracy").GetDouble());
    }

    /// <summary><c>bench/reference/pytorch_reference.py</c> on <see cref="BenchOptions.Python"/> with the arguments every
    /// mode shares (data, split, weights, size, batch, threads) and <paramref name="extra"/> (the mode and its options).</summary>
    public static ProcessStartInfo Start(BenchOptions options, string split, string weights, params string[] extra)
    {
        var psi = new ProcessStartInfo(options.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
                 {
                     Path.Combine(FindRepoRoot(), "bench", "reference", "pytorch_reference.py"), "--data", Path.GetFullPath(options.Data),
                     "--split", split, "--weights", weights, "--size", options.CompareSize.ToString(CultureInfo.InvariantCulture),
                     "--batch", options.Batch.ToString(CultureInfo.InvariantCulture), "--threads", options.Threads.ToString(CultureInfo.InvariantCulture),
                 }.Concat(extra))
            psi.ArgumentList.Add(argument);
        return psi;
    }

    /// <summary>Runs the script to its end and parses the JSON line it prints last.</summary>
    public static JsonDocument RunJson(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        return Finish(process);
    }

    /// <summary>Waits for a started reference run and parses the JSON line it printed last; its error output when it failed.</summary>
    /// <exception cref="InvalidOperationException">The script exited with an error.</exception>
    public static JsonDocument Finish(Process process)
    {
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"PyTorch reference failed ({process.ExitCode}): {stderr.Result}");
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
    }

    internal static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TransferHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Run the benchmark from inside the repository.");
    }
}
