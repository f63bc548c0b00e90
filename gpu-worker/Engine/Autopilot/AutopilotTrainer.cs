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
    /// <summary>The LP-FT stage's held-out comparison, when it ran (null: skipped or off).</summary>
    public LpFtResult? LpFt { get; init; }

    public AutopilotChoice Choice
    {
        get
        {
            var best = Selection.Leaderboard.First(s => s.Name == Selection.WinnerName);
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
            var heldOutImages = (pool.Count + StratifiedFolds.FoldCount(poolSet.Labels) - 1) / StratifiedFolds.FoldCount(poolSet.Labels);
            var (lpFtPlan, lpFtSkipped) = PlanLpFt(spec, backbone, stages, classes, pool.Count, heldOutImages, clock.Elapsed.TotalSeconds);
            if (lpFtPlan is not null)
                observer.Log("info", string.Create(CultureInfo.InvariantCulture,
                    $"Autopilot: LP-FT planned: about {lpFtPlan.Seconds:F0} s ({lpFtPlan.InputSeconds:F0} s for the last stage's inputs, {lpFtPlan.TrainSeconds:F0} s to train; {lpFtPlan.SecondsPerTrainingRow * 1000:F1} ms per training row measured), kept out of the time for choosing."));
            else if (lpFtSkipped is not null)
                observer.Log("info", $"Autopilot: skipped LP-FT: {lpFtSkipped}.");
            var choosing = Math.Max(SelectionSeconds(spec.TimeBudgetSeconds, clock.Elapsed.TotalSeconds) - (lpFtPlan?.Seconds ?? 0),
                MinSelectionShare * spec.TimeBudgetSeconds);
            observer.Log("info", string.Create(CultureInfo.InvariantCulture,
                $"Autopilot: features of {features.Count} images × 2 views (the last {stages} stages pooled: {string.Join(" + ", blocks)} values) ready in {extractSeconds:F1} s; choosing among classifiers by cross-validation on {pool.Count} train + val images with {choosing:F1} s of the {spec.TimeBudgetSeconds} s budget."));
            if (choosing > left)
                observer.Log("warning", string.Create(CultureInfo.InvariantCulture,
                    $"Autopilot: computing the features took {extractSeconds:F0} s of the {spec.TimeBudgetSeconds} s budget, so choosing gets its minimum, {choosing:F1} s (a quarter of the budget): the run ends about {choosing - Math.Max(0, left):F0} s past its budget rather than choose among fewer classifiers. Features are cached now: another run on these images spends little on them."));

            var candidates = Candidate.DefaultGrid(Candidate.IsImbalanced(poolSet.Labels), stages);
            var selection = new AutoSelector(new AutoSelectorOptions { BudgetSeconds = choosing, Seed = spec.Seed, Rule = spec.AutoSelection })
                .Select(poolSet, candidates, observer.Candidate, observer.Log, cancellationToken);
            observer.Log("info", "Autopilot: " + selection.Reason);

            var final = selection.Winner.Fit(poolSet, Enumerable.Range(0, poolSet.Count).ToList(), useFlips: true, cancellationToken);
            LpFtResult? lpFt = null;
            Dictionary<string, (float[] Plain, float[] Flipped)>? stageInputs = null;
            if (lpFtPlan is not null)
            {
                (lpFt, stageInputs, final) = RunLpFt(spec, backbone, pool, poolSet, selection, final, lpFtPlan, observer, cancellationToken);
                selection = WithLpFt(selection, lpFt);
                observer.Candidate(selection.Leaderboard.First(s => s.Name.StartsWith(LinearProbeFineTune.NamePrefix, StringComparison.Ordinal)) with { Rank = 0 });
            }
            else if (lpFtSkipped is not null)
                selection = selection with { Skipped = [.. selection.Skipped, new SkippedCandidate(LinearProbeFineTune.NamePrefix + selection.Winner.Name, LpFtSkippedReason(lpFtSkipped))] };
            var tuned = lpFt is { Kept: true };
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
            // With a kept LP-FT stage the features come from the trained last stage (from its cached inputs), and the
            // temperature is fitted on the LP-FT model's predictions of its held-out fold.
            var evaluatedProbabilities = tuned
                ? LinearProbeFineTune.Predict(backbone, final, final.Weights, [.. evaluation.Select(item => stageInputs![item.Sha256])],
                    [.. Enumerable.Range(0, evaluation.Count)], lpFtPlan!.InputShape, spec.LpFt.BatchSize, device)
                : [.. evaluation.Select((item, i) => final.Predict(evaluationSet, i, tta: true))];
            var evaluatedLogits = evaluation.Select((item, i) => (Logits(evaluatedProbabilities[i]), item.ClassIndex)).ToList();
            var heldOut = tuned
                ? lpFt!.HeldOut.Select(h => (Logits(h.Probabilities), poolSet.Labels[h.Image])).ToList()
                : [.. selection.WinnerOutOfFold.Select((p, i) => (Logits(p), poolSet.Labels[i]))];
            var calibration = CalibrationSummary.Calibrate(heldOut, CalibrationSummary.OutOfFold, evaluatedLogits);
            model.Temperature = calibration.Temperature;
            observer.Log("info", calibration.Describe(evaluated.ToString().ToLowerInvariant()) +
                (evaluated == DataSplit.Train ? " (measured on the images the model was fitted on: optimistic)" : ""));
            var report = ClassificationReport.From(spec.ClassNames,
                [.. evaluation.Select((item, i) => (item.Sha256, item.ClassIndex, Contracts.Metrics.TemperatureScaling.Softmax(evaluatedLogits[i].Item1, calibration.Temperature)))]);
            model.to(torch.CPU);
            return new TrainingOutcome(model, report, evaluated, 0, false, clock.Elapsed.TotalSeconds, descriptor, model.Backbone.WeightsSha256)
            {
                Autopilot = new AutopilotSummary(selection, final) { LpFt = lpFt },
                Calibration = calibration,
                BackboneTuned = tuned,
            };
        }
        catch
        {
            if (model is not null) model.Dispose();
            else backbone.Dispose();
            throw;
        }
    }

    /// <summary>Whether the LP-FT stage runs (ADR 036): with <see cref="LpFtPolicy.WhenBudgetAllows"/> only when its
    /// measured estimate fits what the budget has left after the features and <see cref="MinSelectionShare"/> of it for
    /// choosing, and its cached inputs fit <see cref="LpFtOptions.MaxInputBytes"/>. Returns the estimate, or why it is skipped.</summary>
    private (LpFtEstimate? Plan, string? Skipped) PlanLpFt(TrainingSpec spec, Backbone backbone, int pooledStages, int classes, int poolImages,
        int heldOutImages, double spentSeconds)
    {
        var options = spec.LpFt;
        if (options.Policy == LpFtPolicy.Off) return (null, "LP-FT is off for this job");
        if (pooledStages > 2 || backbone.Stages.Count < 3) return (null, $"{backbone.Descriptor.Name} has too few stages for LP-FT on cached stage inputs");
        var estimate = LinearProbeFineTune.Estimate(backbone, pooledStages, classes, spec.ImageSize, spec.Items.DistinctBy(i => i.Sha256).Count(), poolImages,
            heldOutImages, options, device);
        if (options.Policy == LpFtPolicy.Always) return (estimate, null);
        var left = spec.TimeBudgetSeconds - spentSeconds - MinSelectionShare * spec.TimeBudgetSeconds;
        if (estimate.InputBytes > options.MaxInputBytes)
            return (null, string.Create(CultureInfo.InvariantCulture,
                $"its cached last-stage inputs would take {estimate.InputBytes / 1e6:F0} MB, more than the {options.MaxInputBytes / 1e6:F0} MB allowed"));
        if (estimate.Seconds > left)
            return (null, string.Create(CultureInfo.InvariantCulture,
                $"estimated {estimate.Seconds:F0} s ({estimate.InputSeconds:F0} s for the last stage's inputs, {estimate.TrainSeconds:F0} s to train {options.Epochs} epochs; {estimate.SecondsPerTrainingRow * 1000:F1} ms per training row measured), {Math.Max(0, left):F0} s of the {spec.TimeBudgetSeconds} s budget left after the features and the classifier choice"));
        return (estimate, null);
    }

    /// <summary>The LP-FT stage: the last stage's inputs of every image; on fold 0 of the selection's first k-fold round
    /// (held out of train + val; never the test split) the probe refitted on the other folds is compared with LP-FT
    /// started from it; LP-FT is kept only when its held-out score (the selection's metric) is strictly higher, and then
    /// the last stage is trained again, from the refitted winner, on all of train + val. Returns the final classifier
    /// (the LP-FT head when kept) and leaves the trained last stage in <paramref name="backbone"/> only when kept.</summary>
    private (LpFtResult Result, Dictionary<string, (float[] Plain, float[] Flipped)> Inputs, FittedClassifier Final) RunLpFt(TrainingSpec spec,
        Backbone backbone, IReadOnlyList<DatasetEntry> pool, FeatureSet poolSet, Selection selection, FittedClassifier final, LpFtEstimate plan,
        ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = spec.LpFt;
        var pipeline = new TransformPipeline(spec.ImageSize, spec.Resize, AugmentationOptions.None, backbone.Descriptor.Normalization);
        var inputs = LinearProbeFineTune.StageInputs(backbone, images, pipeline, spec.Items, spec.BatchSize, device, cancellationToken);
        var inputSeconds = clock.Elapsed.TotalSeconds;
        var poolInputs = pool.Select(i => inputs[i.Sha256]).ToList();
        var folds = StratifiedFolds.Assign(poolSet.Labels, selection.FoldsPerRepeat, spec.Seed);
        var held = Enumerable.Range(0, pool.Count).Where(i => folds[i] == 0).ToList();
        var train = Enumerable.Range(0, pool.Count).Where(i => folds[i] != 0).ToList();
        var probe = selection.Winner.Fit(poolSet, train, useFlips: true, cancellationToken);
        var metric = selection.Leaderboard[0].Metric;
        var heldLabels = held.Select(i => poolSet.Labels[i]).ToList();
        var probeScore = LinearProbeFineTune.Score([.. held.Select(i => probe.Predict(poolSet, i, tta: true))], heldLabels, poolSet.Classes, metric);

        var snapshot = LinearProbeFineTune.Snapshot(backbone);
        List<float[]> tunedHeld;
        try
        {
            var weights = LinearProbeFineTune.Train(backbone, probe, poolInputs, poolSet.Labels, train, plan.InputShape, options, spec.Seed, device, cancellationToken);
            tunedHeld = LinearProbeFineTune.Predict(backbone, probe, weights, poolInputs, held, plan.InputShape, options.BatchSize, device);
        }
        finally
        {
            LinearProbeFineTune.Restore(backbone, snapshot);
        }
        var tunedScore = LinearProbeFineTune.Score(tunedHeld, heldLabels, poolSet.Classes, metric);
        var kept = tunedScore > probeScore;
        if (kept)
        {
            var weights = LinearProbeFineTune.Train(backbone, final, poolInputs, poolSet.Labels, [.. Enumerable.Range(0, pool.Count)], plan.InputShape,
                options, spec.Seed, device, cancellationToken);
            final = final with { Weights = weights };
        }
        string Format(double v) => metric == "accuracy" ? v.ToString("P1", CultureInfo.InvariantCulture) : v.ToString("0.000", CultureInfo.InvariantCulture);
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"LP-FT (the last stage and the head of {selection.Winner.Name} trained {options.Epochs} epochs, head LR {options.HeadLearningRate:G2}, stage LR ×{options.StageLrMultiplier:G2}) scored {Format(tunedScore)} against the probe's {Format(probeScore)} on the same held-out fold of {held.Count} train + val images: {(kept ? $"kept as {LinearProbeFineTune.NamePrefix}{selection.Winner.Name}, and trained again on all of train + val" : "not kept (it must beat the probe)")}; {clock.Elapsed.TotalSeconds:F0} s ({inputSeconds:F0} s for the last stage's inputs, estimated {plan.Seconds:F0} s).");
        observer.Log("info", "Autopilot: " + reason);
        var parameters = string.Create(CultureInfo.InvariantCulture,
            $"{selection.Winner.Params} lp_ft=last_stage epochs={options.Epochs} head_lr={options.HeadLearningRate:G3} stage_lr_multiplier={options.StageLrMultiplier:G3} held_out=fold_1_of_{selection.FoldsPerRepeat} probe_held_out={probeScore:0.####}");
        var result = new LpFtResult(kept, probeScore, tunedScore, held.Count, metric, clock.Elapsed.TotalSeconds, reason, parameters)
        {
            HeldOut = [.. held.Select((image, j) => (image, tunedHeld[j]))],
            Accuracy = LinearProbeFineTune.Score(tunedHeld, heldLabels, poolSet.Classes, "accuracy"),
            MacroF1 = LinearProbeFineTune.Score(tunedHeld, heldLabels, poolSet.Classes, "macro_f1"),
        };
        return (result, inputs, final);
    }

    /// <summary>What the leaderboard's skipped list says of LP-FT: the row's name (<c>lp-ft:…</c>) means nothing to most
    /// users, so the reason says what the stage is before why it did not run.</summary>
    internal static string LpFtSkippedReason(string why) =>
        why.StartsWith("LP-FT", StringComparison.Ordinal) ? why : $"LP-FT (fine-tuning the backbone's last stage from this head) not run: {why}";

    /// <summary>The leaderboard with the LP-FT row: first (the winner) when kept, last otherwise. Its score is one held-out
    /// fold's, not a cross-validated mean, so it is placed by the keep-or-drop rule rather than sorted among the others.</summary>
    private static Selection WithLpFt(Selection selection, LpFtResult lpFt)
    {
        var row = new CandidateScore(LinearProbeFineTune.NamePrefix + selection.Winner.Name, lpFt.Params, lpFt.TunedScore, lpFt.TunedScore, lpFt.TunedScore,
            lpFt.MacroF1, lpFt.Accuracy, 1, lpFt.Seconds, lpFt.Metric);
        var board = lpFt.Kept ? [row, .. selection.Leaderboard] : selection.Leaderboard.Append(row).ToList();
        return selection with
        {
            Leaderboard = [.. board.Select((s, i) => s with { Rank = i + 1 })],
            Reason = selection.Reason + " " + lpFt.Reason,
            WinnerRow = lpFt.Kept ? row.Name : selection.WinnerRow,
        };
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
        FeatureThroughput.Record(missing.Count, views: 2, size, clock.Elapsed.TotalSeconds);
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
