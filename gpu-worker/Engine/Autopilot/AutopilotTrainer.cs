using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
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
        var model = TorchRandom.Seeded(spec.Seed, () =>
        {
            var backbone = backbones.Create(spec.Backbone);
            try
            {
                return new ClassifierModel(backbone, new ClassifierHead(backbone.Descriptor.FeatureDim, spec.ClassNames.Count, 0, 0));
            }
            catch
            {
                backbone.Dispose();
                throw;
            }
        });
        try
        {
            var descriptor = model.Backbone.Descriptor;
            model.Freeze(-1);
            model.to(device);
            var pool = SelectionPool.From(spec.Items);
            SelectionPool.AssertNoTest(pool);
            var test = spec.Items.Where(i => i.Split == DataSplit.Test).ToList();
            var classes = spec.ClassNames.Count;
            observer.Started(new TrainingStarted(device.type.ToString().ToLowerInvariant(), pool.Count(i => i.Split == DataSplit.Train),
                pool.Count(i => i.Split == DataSplit.Val), test.Count, (long)descriptor.FeatureDim * classes + classes, model.TotalParameters, 0));
            if (!spec.Augmentation.IsNone)
                observer.Log("warning", "Auto mode trains on cached features of each image and its horizontal flip; other augmentation is not applied.");

            var features = Extract(model, spec, observer, cancellationToken);
            var extractSeconds = clock.Elapsed.TotalSeconds;
            var poolSet = ToSet(pool, features, classes);
            var left = spec.TimeBudgetSeconds - clock.Elapsed.TotalSeconds;
            observer.Log("info", string.Create(CultureInfo.InvariantCulture,
                $"Autopilot: features of {features.Count} images × 2 views ready in {extractSeconds:F1} s; choosing among classifiers by cross-validation on {pool.Count} train + val images with {Math.Max(0, left):F1} s of the {spec.TimeBudgetSeconds} s budget left."));
            if (left <= 0)
                observer.Log("warning", "Autopilot: computing the features used up the time budget: only the first candidate runs. Raise time_budget_seconds, or run again (features are cached).");

            var candidates = Candidate.DefaultGrid(Candidate.IsImbalanced(poolSet.Labels));
            var selection = new AutoSelector(new AutoSelectorOptions { BudgetSeconds = left, Seed = spec.Seed })
                .Select(poolSet, candidates, observer.Candidate, observer.Log, cancellationToken);
            observer.Log("info", "Autopilot: " + selection.Reason);

            var final = selection.Winner.Fit(poolSet, Enumerable.Range(0, poolSet.Count).ToList(), useFlips: true, cancellationToken);
            LoadHead(model, final);

            var evaluated = DataSplit.Test;
            var evaluation = test;
            if (evaluation.Count == 0)
            {
                evaluated = DataSplit.Train;
                evaluation = [.. pool];
                observer.Log("warning", "No test images: the report is computed on the train + val images the model was fitted on and is optimistic; the cross-validated score is the honest estimate.");
            }
            var evaluationSet = ToSet(evaluation, features, classes);
            var report = ClassificationReport.From(spec.ClassNames,
                [.. evaluation.Select((item, i) => (item.Sha256, item.ClassIndex, final.Predict(evaluationSet, i, tta: true)))]);
            model.to(torch.CPU);
            return new TrainingOutcome(model, report, evaluated, 0, false, clock.Elapsed.TotalSeconds, descriptor, model.Backbone.WeightsSha256)
            {
                Autopilot = new AutopilotSummary(selection, final),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Puts the fitted linear layer into the model's (linear) head and sets preprocessing and TTA.</summary>
    internal static void LoadHead(ClassifierModel model, FittedClassifier fitted)
    {
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

    private static FeatureSet ToSet(IReadOnlyList<DatasetEntry> items, Dictionary<string, (float[] Plain, float[] Flipped)> features, int classes) =>
        new([.. items.Select(i => features[i.Sha256].Plain)], [.. items.Select(i => features[i.Sha256].Flipped)],
            [.. items.Select(i => i.ClassIndex)], classes);

    /// <summary>Both views' features of every image of the job: from the cache, or computed in batches (one dispose
    /// scope per batch) as backbone(x) and backbone(x flipped along the width).</summary>
    private Dictionary<string, (float[] Plain, float[] Flipped)> Extract(ClassifierModel model, TrainingSpec spec, ITrainingObserver observer,
        CancellationToken cancellationToken)
    {
        var descriptor = model.Backbone.Descriptor;
        var pipeline = new TransformPipeline(spec.ImageSize, spec.Resize, AugmentationOptions.None, descriptor.Normalization);
        var plainKey = descriptor.Pretrained && model.Backbone.WeightsSha256 is { } weights
            ? FeatureCache.Key(descriptor.Name, weights, pipeline.Size, pipeline.Resize)
            : null;
        var flipKey = plainKey is null ? null : FeatureCache.Key(descriptor.Name, model.Backbone.WeightsSha256!, pipeline.Size, pipeline.Resize, FlipView);
        var result = new Dictionary<string, (float[], float[])>();
        var missing = new List<DatasetEntry>();
        foreach (var item in spec.Items.DistinctBy(i => i.Sha256))
        {
            if (plainKey is not null && featureCache.TryGet(plainKey, item.Sha256) is { } plain && plain.Length == descriptor.FeatureDim
                && featureCache.TryGet(flipKey!, item.Sha256) is { } flipped && flipped.Length == descriptor.FeatureDim)
                result[item.Sha256] = (plain, flipped);
            else
                missing.Add(item);
        }
        observer.Log("info", $"Feature extraction: {result.Count} images cached (both views), computing {missing.Count} with {descriptor.Name} at {pipeline.Size}px, each with its horizontal flip.");
        model.Backbone.eval();
        var source = new BatchSource(images, pipeline);
        var size = pipeline.Size;
        var dim = descriptor.FeatureDim;
        using (torch.no_grad())
        {
            foreach (var batch in source.Batches(missing, Enumerable.Range(0, missing.Count).ToArray(), spec.BatchSize, null, 0, cancellationToken))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var input = torch.tensor(batch.Pixels, [batch.Count, 3, size, size]).to(device);
                var plain = model.Backbone.forward(input).cpu().data<float>().ToArray();
                var flipped = model.Backbone.forward(input.flip(3)).cpu().data<float>().ToArray();
                for (var j = 0; j < batch.Count; j++)
                {
                    var item = missing[batch.ItemIndices[j]];
                    var a = plain.AsSpan(j * dim, dim).ToArray();
                    var b = flipped.AsSpan(j * dim, dim).ToArray();
                    result[item.Sha256] = (a, b);
                    if (plainKey is null) continue;
                    featureCache.Put(plainKey, item.Sha256, a);
                    featureCache.Put(flipKey!, item.Sha256, b);
                }
            }
        }
        return result;
    }
}
