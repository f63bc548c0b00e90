using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>What model.json records about an autopilot winner.</summary>
public sealed record AutopilotChoice(string Candidate, string Params, string Metric, double CvMean, double CvLow, double CvHigh,
    int Folds, string Reason);

/// <summary>The selection and the winner refitted on train + val.</summary>
public sealed record AutopilotSummary(Selection Selection, FittedClassifier Final)
{
    public AutopilotChoice Choice
    {
        get
        {
            var best = Selection.Leaderboard[0];
            return new AutopilotChoice(best.Name, best.Params, best.Metric, best.Mean, best.Low, best.High, best.Folds, Selection.Reason);
        }
    }
}

/// <summary>The images model selection may look at: train and val, never test.</summary>
public static class SelectionPool
{
    public static IReadOnlyList<DatasetEntry> From(IEnumerable<DatasetEntry> items) => items.Where(i => i.Split != DataSplit.Test).ToList();

    /// <exception cref="InvalidOperationException">an entry of the test split: selection must never see one</exception>
    public static void AssertNoTest(IEnumerable<DatasetEntry> pool)
    {
        var test = pool.FirstOrDefault(i => i.Split == DataSplit.Test);
        if (test is not null)
            throw new InvalidOperationException($"Model selection was given test image {test.Sha256}: the test split must never influence a choice.");
    }
}

/// <summary>
/// Runs an auto-mode job on the calling (dedicated) thread: the frozen backbone's pooled features of every image and of
/// its horizontal flip are computed once (or read from the <see cref="FeatureCache"/>, keyed by the weights' content
/// hash, image size, resize mode and view); <see cref="AutoSelector"/> chooses a classifier by cross-validation on
/// train + val within the job's time budget; the winner is refitted on train + val and evaluated once on the test
/// split with test-time augmentation. The returned model applies the same preprocessing and TTA in Predict.
/// </summary>
public sealed class AutopilotTrainer(BackboneRegistry backbones, ImageStore images, FeatureCache featureCache, Device device)
{
    public const string FlipView = "hflip";

    public TrainingOutcome Run(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var backbone = TorchRandom.Seeded(spec.Seed, () => backbones.Create(spec.Backbone));
        ClassifierModel? model = null;
        try
        {
            var descriptor = backbone.Descriptor;
            foreach (var p in backbone.parameters()) p.requires_grad = false;
            backbone.eval();
            backbone.to(device);
            var pool = SelectionPool.From(spec.Items);
            SelectionPool.AssertNoTest(pool);
            var test = spec.Items.Where(i => i.Split == DataSplit.Test).ToList();
            var classes = spec.ClassNames.Count;
            var stages = Math.Min(PooledStages, backbone.Stages.Count - 1);
            var blocks = backbone.PooledWidths(stages);
            var totalParameters = backbone.parameters().Sum(p => p.numel());
            observer.Started(new TrainingStarted(device.type.ToString().ToLowerInvariant(), pool.Count(i => i.Split == DataSplit.Train),
                pool.Count(i => i.Split == DataSplit.Val), test.Count, (long)blocks.Sum() * classes + classes, totalParameters + (long)blocks.Sum() * classes + classes, 0));
            if (!spec.Augmentation.IsNone)
                observer.Log("warning", "Auto mode trains on cached features of each image and its horizontal flip; other augmentation is not applied.");

            var features = Extract(backbone, blocks, spec, observer, cancellationToken);
            var extractSeconds = clock.Elapsed.TotalSeconds;
            var poolSet = ToSet(pool, features, classes, blocks);
            var left = spec.TimeBudgetSeconds - clock.Elapsed.TotalSeconds;
            var choosing = SelectionSeconds(spec.TimeBudgetSeconds, clock.Elapsed.TotalSeconds);
            observer.Log("info", string.Create(CultureInfo.InvariantCulture,
                $"Autopilot: features of {features.Count} images × 2 views (the last {stages} stages pooled: {string.Join(" + ", blocks)} values) ready in {extractSeconds:F1} s; choosing among classifiers by cross-validation on {pool.Count} train + val images with {choosing:F1} s of the {spec.TimeBudgetSeconds} s budget."));
            if (choosing > left)
                observer.Log("warning", string.Create(CultureInfo.InvariantCulture,
                    $"Autopilot: computing the features took {extractSeconds:F0} s of the {spec.TimeBudgetSeconds} s budget, so choosing gets its minimum, {choosing:F1} s (a quarter of the budget): the run ends about {choosing - Math.Max(0, left):F0} s past its budget rather than choose among fewer classifiers. Features are cached now: another run on these images spends little on them."));

            var candidates = Candidate.DefaultGrid(Candidate.IsImbalanced(poolSet.Labels), stages);
            var selection = new AutoSelector(new AutoSelectorOptions { BudgetSeconds = choosing, Seed = spec.Seed })
                .Select(poolSet, candidates, observer.Candidate, observer.Log, cancellationToken);
            observer.Log("info", "Autopilot: " + selection.Reason);

            var final = selection.Winner.Fit(poolSet, Enumerable.Range(0, poolSet.Count).ToList(), useFlips: true, cancellationToken);
            var head = TorchRandom.Seeded(spec.Seed, () => new ClassifierHead(final.Weights.Dim, classes, 0, 0));
            model = new ClassifierModel(backbone, head);
            LoadHead(model, final);
            model.Freeze(-1);
            model.eval();

            var evaluated = DataSplit.Test;
            var evaluation = test;
            if (evaluation.Count == 0)
            {
                evaluated = DataSplit.Train;
                evaluation = [.. pool];
                observer.Log("warning", "No test images: the report is computed on the train + val images the model was fitted on and is optimistic; the cross-validated score is the honest estimate.");
            }
            var evaluationSet = ToSet(evaluation, features, classes, blocks);
            // The model's output is log of the mean of both views' probabilities (ClassifierModel.forward with the flip),
            // so these are its logits; the refitted winner has no held-out images, so the temperature is fitted on the
            // winner's out-of-fold predictions of train + val (ADR 022).
            var evaluatedLogits = evaluation.Select((item, i) => (Logits(final.Predict(evaluationSet, i, tta: true)), item.ClassIndex)).ToList();
            var calibration = CalibrationSummary.Calibrate(
                [.. selection.WinnerOutOfFold.Select((p, i) => (Logits(p), poolSet.Labels[i]))], CalibrationSummary.OutOfFold, evaluatedLogits);
            model.Temperature = calibration.Temperature;
            observer.Log("info", calibration.Describe(evaluated.ToString().ToLowerInvariant()) +
                (evaluated == DataSplit.Train ? " (measured on the images the model was fitted on: optimistic)" : ""));
            var report = ClassificationReport.From(spec.ClassNames,
                [.. evaluation.Select((item, i) => (item.Sha256, item.ClassIndex, Contracts.Metrics.TemperatureScaling.Softmax(evaluatedLogits[i].Item1, calibration.Temperature)))]);
            model.to(torch.CPU);
            return new TrainingOutcome(model, report, evaluated, 0, false, clock.Elapsed.TotalSeconds, descriptor, model.Backbone.WeightsSha256)
            {
                Autopilot = new AutopilotSummary(selection, final),
                Calibration = calibration,
            };
        }
        catch
        {
            if (model is not null) model.Dispose();
            else backbone.Dispose();
            throw;
        }
    }

    /// <summary>What <see cref="ClassifierModel.forward"/> returns for probabilities p with the flip: log(max(p, 1e-30)).</summary>
    /// <summary>The fraction of the time budget the model selection always gets, however long the features took.</summary>
    public const double MinSelectionShare = 0.25;

    /// <summary>Seconds the cross-validated selection may take: what the budget has left after the features, but never
    /// less than <see cref="MinSelectionShare"/> of the budget. Candidates on cached features fit in milliseconds to a few
    /// seconds, while cold features on a busy CPU can take longer than the whole budget; without a floor such a run would
    /// score only its first candidate and choose differently from the same run on a quiet machine (a browser walk-through:
    /// 1 of 24 candidates scored, 93.2 %, vs 86.4 % with all 24 — the same data, split and seed).</summary>
    /// <param name="budgetSeconds">The job's time budget (s, &gt; 0).</param>
    /// <param name="spentSeconds">Seconds already spent (features).</param>
    public static double SelectionSeconds(double budgetSeconds, double spentSeconds) =>
        Math.Max(budgetSeconds - spentSeconds, MinSelectionShare * budgetSeconds);

    private static float[] Logits(float[] probabilities) => [.. probabilities.Select(p => MathF.Log(MathF.Max(p, 1e-30f)))];

    /// <summary>Both views' features of every image of <paramref name="spec"/> (every split: the label-issue search
    /// looks at all of them) as one feature set in item order, exactly as an auto run computes and caches them (so a
    /// later run, or search, on the same images reads them from the cache). Only the spec's backbone, image size, resize
    /// mode, batch size, seed, items and classes matter. <paramref name="cachedImages"/> hears how many images' features
    /// came from the cache.</summary>
    public FeatureSet Features(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken, Action<int>? cachedImages = null)
    {
        using var backbone = TorchRandom.Seeded(spec.Seed, () => backbones.Create(spec.Backbone));
        foreach (var p in backbone.parameters()) p.requires_grad = false;
        backbone.eval();
        backbone.to(device);
        var stages = Math.Min(PooledStages, backbone.Stages.Count - 1);
        var blocks = backbone.PooledWidths(stages);
        var features = Extract(backbone, blocks, spec, observer, cancellationToken, cachedImages);
        return ToSet(spec.Items, features, spec.ClassNames.Count, blocks);
    }

    /// <summary>How many of the backbone's last stages the autopilot pools (<see cref="Backbone.PooledStages"/>): 2,
    /// measured on Tux Paint (docs/benchmarks.md, "Which features"); candidates on the last stage alone stay in the grid.</summary>
    public const int PooledStages = 2;

    /// <summary>Puts the fitted linear layer into the model's (linear) head and sets preprocessing, TTA and the pooled stages.</summary>
    internal static void LoadHead(ClassifierModel model, FittedClassifier fitted)
    {
        model.PooledStages = fitted.Candidate.PooledStages;
        var linear = model.Head.parameters().ToList(); // [weight [K, D], bias [K]] of the single Linear layer
        using (torch.no_grad())
        {
            using var weight = torch.tensor(fitted.Weights.Weight, [fitted.Weights.Classes, fitted.Weights.Dim]);
            using var bias = torch.tensor(fitted.Weights.Bias);
            linear[0].copy_(weight);
            linear[1].copy_(bias);
        }
        model.FeaturePreprocessing = fitted.Preprocessing;
        model.TestTimeFlip = true;
    }

    private static FeatureSet ToSet(IReadOnlyList<DatasetEntry> items, Dictionary<string, (float[] Plain, float[] Flipped)> features, int classes,
        IReadOnlyList<int> blocks) =>
        new([.. items.Select(i => features[i.Sha256].Plain)], [.. items.Select(i => features[i.Sha256].Flipped)],
            [.. items.Select(i => i.ClassIndex)], classes, blocks);

    /// <summary>Both views' features of every image of the job — the last <paramref name="stages"/> stages pooled and
    /// concatenated (earlier stage first) — from the cache, or computed in batches (one dispose scope per batch) from
    /// x and x flipped along the width. Each stage is cached on its own: the last stage under feature extraction's key
    /// (shared with it), an earlier one under a view named after its distance from the end ("stage-2").</summary>
    private Dictionary<string, (float[] Plain, float[] Flipped)> Extract(Backbone backbone, IReadOnlyList<int> blocks, TrainingSpec spec,
        ITrainingObserver observer, CancellationToken cancellationToken, Action<int>? cachedImages = null)
    {
        var clock = Stopwatch.StartNew();
        var stages = blocks.Count;
        var descriptor = backbone.Descriptor;
        var pipeline = new TransformPipeline(spec.ImageSize, spec.Resize, AugmentationOptions.None, descriptor.Normalization);
        // keys[s] = (plain, flipped) cache keys of the stage s from the end (0 = last); null: not cacheable (random init).
        var keys = descriptor.Pretrained && backbone.WeightsSha256 is { } weights
            ? Enumerable.Range(0, stages).Select(s => (
                Plain: FeatureCache.Key(descriptor.Name, weights, pipeline.Size, pipeline.Resize, s == 0 ? null : $"stage-{s + 1}"),
                Flipped: FeatureCache.Key(descriptor.Name, weights, pipeline.Size, pipeline.Resize, s == 0 ? FlipView : $"stage-{s + 1}-{FlipView}"))).ToArray()
            : null;
        var dims = blocks.Reverse().ToArray(); // dims[s]: the stage s from the end (0 = last)
        var total = dims.Sum();
        var result = new Dictionary<string, (float[], float[])>();
        var missing = new List<DatasetEntry>();
        foreach (var item in spec.Items.DistinctBy(i => i.Sha256))
        {
            if (keys is not null && Cached(item.Sha256) is { } both) result[item.Sha256] = both;
            else missing.Add(item);
        }
        cachedImages?.Invoke(result.Count);
        observer.Log("info", $"Feature extraction: {result.Count} images cached (both views), computing {missing.Count} with {descriptor.Name} at {pipeline.Size}px, each with its horizontal flip.");
        using var source = new BatchSource(images, pipeline);
        var size = pipeline.Size;
        using (torch.no_grad())
        {
            foreach (var batch in source.Batches(missing, Enumerable.Range(0, missing.Count).ToArray(), spec.BatchSize, null, 0, cancellationToken))
            {
                cancellationToken.ThrowIfCancellationRequested();
                void Log(string message) => observer.Log("warning", message);
                var plain = FrozenFeatures.Compute(backbone, stages, batch.Pixels, batch.Count, size, device, log: Log);
                var flipped = FrozenFeatures.Compute(backbone, stages, batch.Pixels, batch.Count, size, device, flip: true, log: Log);
                for (var j = 0; j < batch.Count; j++)
                {
                    var item = missing[batch.ItemIndices[j]];
                    var a = plain.AsSpan(j * total, total).ToArray();
                    var b = flipped.AsSpan(j * total, total).ToArray();
                    result[item.Sha256] = (a, b);
                    if (keys is null) continue;
                    // Row layout: earlier stage first, so the stage s from the end starts at total − (its dim + later dims).
                    for (var s = 0; s < stages; s++)
                    {
                        var end = total - dims.Take(s).Sum();
                        var start = end - dims[s];
                        featureCache.Put(keys[s].Plain, item.Sha256, a[start..end]);
                        featureCache.Put(keys[s].Flipped, item.Sha256, b[start..end]);
                    }
                }
            }
        }
        observer.Features(new FeaturesReady(result.Count, result.Count - missing.Count, missing.Count, clock.Elapsed.TotalSeconds));
        return result;

        (float[], float[])? Cached(string sha256)
        {
            var plain = new float[total];
            var flipped = new float[total];
            var end = total;
            for (var s = 0; s < stages; s++)
            {
                if (featureCache.TryGet(keys![s].Plain, sha256) is not { } p || p.Length != dims[s]
                    || featureCache.TryGet(keys[s].Flipped, sha256) is not { } f || f.Length != dims[s])
                    return null;
                p.CopyTo(plain, end - dims[s]);
                f.CopyTo(flipped, end - dims[s]);
                end -= dims[s];
            }
            return (plain, flipped);
        }
    }
}
