using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

/// <summary>What a finished training run produced. The caller owns (and disposes) <see cref="Model"/>.
/// <see cref="WeightsSha256"/>: the content hash of the backbone weights the run started from (null: random init).</summary>
public sealed record TrainingOutcome(
    ClassifierModel Model,
    ClassificationReport Report,
    DataSplit EvaluatedSplit,
    int BestEpoch,
    bool StoppedEarly,
    double Seconds,
    BackboneDescriptor Backbone,
    string? WeightsSha256)
{
    /// <summary>Auto mode: the leaderboard, the winner and why, and the refitted winner.</summary>
    public Autopilot.AutopilotSummary? Autopilot { get; init; }

    /// <summary>Auto mode with a kept LP-FT stage: the backbone's last stage was trained, so the stored model holds the
    /// whole network and Predict cannot use the pretrained frozen backbone's features.</summary>
    public bool BackboneTuned { get; init; }

    /// <summary>The temperature (already set on <see cref="Model"/>; <see cref="Report"/> uses it), the evaluated split's
    /// reliability before and after it, and the held-out confidences for the "unknown" threshold.</summary>
    public required CalibrationSummary Calibration { get; init; }
}

/// <summary>
/// Runs one training job synchronously on the calling (dedicated) thread: feature extraction (frozen backbone,
/// features computed once and cached, head-only epochs) or fine-tuning (last N stages, discriminative LR),
/// best-epoch checkpoint by validation accuracy, early stopping, evaluation on the test split.
/// Reproducible per seed even beside other jobs (see <see cref="TorchRandom"/>).
/// A run whose training loss, validation loss/accuracy or weights become NaN or infinite stops after reporting that
/// epoch and throws <see cref="TrainingDivergedException"/> (no evaluation, no model).
/// </summary>
public sealed class Trainer(BackboneRegistry backbones, ImageStore images, FeatureCache featureCache, Device device)
{
    public TrainingOutcome Run(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        if (spec.Mode == TrainingMode.Auto)
            return new Autopilot.AutopilotTrainer(backbones, images, featureCache, device).Run(spec, observer, cancellationToken);
        var clock = Stopwatch.StartNew();
        // Dropout draws from the job's own generator, never from the global one other jobs use.
        using var generator = new torch.Generator(unchecked((ulong)spec.Seed), device);
        var model = CreateModel(spec);
        var backbone = model.Backbone;
        var descriptor = backbone.Descriptor;
        model.Head.UseGenerator(generator);
        try
        {
            var featureExtraction = spec.Mode == TrainingMode.FeatureExtraction;
            model.Freeze(featureExtraction ? -1 : spec.UnfreezeStages);
            model.to(device);

            var train = spec.Items.Where(i => i.Split == DataSplit.Train).ToList();
            var val = spec.Items.Where(i => i.Split == DataSplit.Val).ToList();
            var test = spec.Items.Where(i => i.Split == DataSplit.Test).ToList();
            observer.Started(new TrainingStarted(device.type.ToString().ToLowerInvariant(), train.Count, val.Count, test.Count,
                model.TrainableParameters, model.TotalParameters, spec.Epochs));
            if (val.Count == 0)
                observer.Log("warning", "No validation images: the last epoch is kept and early stopping is off.");
            if (featureExtraction && !spec.Augmentation.IsNone)
                observer.Log("warning", "Feature extraction caches un-augmented features, so augmentation is not applied; use fine-tuning to train with augmentation.");

            using var trainingLoss = new TrainingLoss(spec, train, device);
            LogImbalanceOptions(spec, trainingLoss, train.Count, observer);

            using var runner = CreateRunner(spec, model, trainingLoss, observer, cancellationToken);

            // The optimizer holds the stages that will train; during head-first epochs they are frozen (no gradient,
            // so every optimizer skips them and their BatchNorm stays in eval mode) and join at the unfreeze.
            using var optimizer = CreateOptimizer(spec, model);
            var headFirst = featureExtraction ? 0 : Math.Min(spec.HeadFirstEpochs, spec.Epochs);
            if (headFirst > 0)
            {
                model.Freeze(-1);
                observer.Log("info", headFirst >= spec.Epochs
                    ? $"Head first: all {spec.Epochs} epochs train only the head; the backbone stays frozen."
                    : $"Head first: epoch{(headFirst == 1 ? "" : "s")} 1{(headFirst == 1 ? "" : $"–{headFirst}")} train only the head (backbone frozen); " +
                      $"from epoch {headFirst + 1} the backbone trains too, at the learning rate × {spec.BackboneLrMultiplier.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}.");
            }
            var baseRates = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
            Dictionary<string, Tensor>? best = null;
            var bestEpoch = 0;
            var bestAccuracy = float.NegativeInfinity;
            var bestLoss = float.PositiveInfinity;
            var sinceBest = 0;
            var stoppedEarly = false;

            for (var epoch = 0; epoch < spec.Epochs; epoch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (headFirst > 0 && epoch == headFirst)
                {
                    model.Freeze(spec.UnfreezeStages);
                    sinceBest = 0; // the unfrozen epochs get the whole patience to beat the head-only ones
                    observer.Log("info", $"Epoch {epoch + 1}: {(spec.UnfreezeStages == 0 ? "the whole backbone unfreezes" : $"the backbone's last {spec.UnfreezeStages} stage(s) unfreeze")}.");
                }
                var factor = spec.LrFactor(epoch);
                var groups = optimizer.ParamGroups.ToArray();
                for (var g = 0; g < groups.Length; g++) groups[g].LearningRate = baseRates[g] * factor;

                var epochClock = Stopwatch.StartNew();
                var pass = runner.TrainEpoch(train, optimizer, epoch);
                // Evaluating weights that are already NaN says nothing: a diverged epoch reports NaN validation metrics.
                var weightsFinite = !pass.Diverged && AllFinite(model.parameters().Where(p => p.requires_grad));
                var (valLoss, valAccuracy) = val.Count > 0 && weightsFinite ? runner.Evaluate(val).Summary : (float.NaN, float.NaN);
                var seconds = epochClock.Elapsed.TotalSeconds;
                var divergence = Divergence(pass, weightsFinite, val.Count > 0, valLoss, valAccuracy, ExplodedLoss(spec.ClassNames.Count));

                // A non-finite epoch is never the best one (NaN compares false, but "no validation" would pick it).
                var improved = divergence is null &&
                               (val.Count == 0 || valAccuracy > bestAccuracy || (valAccuracy == bestAccuracy && valLoss < bestLoss));
                if (improved)
                {
                    bestAccuracy = valAccuracy;
                    bestLoss = valLoss;
                    bestEpoch = epoch + 1;
                    sinceBest = 0;
                    DisposeAll(best);
                    best = Snapshot(featureExtraction ? model.Head : model);
                }
                else
                {
                    sinceBest++;
                }
                observer.Epoch(new EpochResult(epoch + 1, pass.Loss, pass.Accuracy, valLoss, valAccuracy,
                    (float)(baseRates[0] * factor), seconds, train.Count / Math.Max(seconds, 1e-9), improved));

                if (divergence is not null)
                {
                    DisposeAll(best);
                    throw new TrainingDivergedException(epoch + 1, DivergedMessage(epoch + 1, divergence, spec, featureExtraction));
                }

                // Never during head-first epochs: the run would end before the backbone trains at all.
                if (spec.EarlyStoppingPatience > 0 && val.Count > 0 && sinceBest >= spec.EarlyStoppingPatience && epoch + 1 < spec.Epochs && epoch >= headFirst)
                {
                    observer.Log("info", $"Early stopping after epoch {epoch + 1}: validation accuracy has not improved for {sinceBest} epochs (best: epoch {bestEpoch}).");
                    stoppedEarly = true;
                    break;
                }
            }

            if (best is not null)
            {
                (featureExtraction ? (nn.Module)model.Head : model).load_state_dict(best);
                DisposeAll(best);
            }

            var evaluated = test.Count > 0 ? DataSplit.Test : DataSplit.Val;
            var evaluationItems = test.Count > 0 ? test : val;
            if (evaluationItems.Count == 0)
            {
                evaluated = DataSplit.Train;
                evaluationItems = train;
                observer.Log("warning", "No test or validation images: the report is computed on the training images and is optimistic.");
            }
            // Temperature scaling on the validation images (never the test split), then the report with it.
            var evaluatedPass = runner.Evaluate(evaluationItems);
            var valPass = val.Count == 0 ? null : ReferenceEquals(evaluationItems, val) ? evaluatedPass : runner.Evaluate(val);
            var calibration = CalibrationSummary.Calibrate(
                valPass is null ? [] : [.. valPass.Images.Select(i => (i.Logits, i.TrueClass))], CalibrationSummary.Validation,
                [.. evaluatedPass.Images.Select(i => (i.Logits, i.TrueClass))]);
            model.Temperature = calibration.Temperature;
            observer.Log("info", calibration.Describe(evaluated.ToString().ToLowerInvariant()) +
                (evaluated == DataSplit.Val && calibration.FittedOn is not null ? " (the temperature was fitted on this split: the 'after' figure is optimistic)" : ""));
            var report = evaluatedPass.ToReport(spec.ClassNames, calibration.Temperature);
            model.to(torch.CPU);
            return new TrainingOutcome(model, report, evaluated, bestEpoch, stoppedEarly, clock.Elapsed.TotalSeconds, descriptor,
                backbone.WeightsSha256) { Calibration = calibration };
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            model.Head.UseGenerator(null); // the generator is disposed on return; the model may outlive it
        }
    }

    /// <summary>Says what the class weights are and how epochs sample, and warns when both compensate for imbalance.</summary>
    private static void LogImbalanceOptions(TrainingSpec spec, TrainingLoss loss, int trainImages, ITrainingObserver observer)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        if (loss.Weights is { } weights)
        {
            var kind = spec.ClassWeighting == Contracts.Jobs.ClassWeightingKind.EffectiveNumber
                ? $"effective number of samples, β {spec.ClassWeightBeta.ToString("G4", c)}"
                : "inverse frequency";
            observer.Log("info", $"Class-weighted loss ({kind}): " +
                string.Join(", ", spec.ClassNames.Select((name, i) => $"{name} {weights[i].ToString("0.###", c)}")) + ".");
        }
        if (spec.BalancedSampling)
            observer.Log("info", $"Class-balanced sampling: each epoch draws {trainImages} training images with replacement, every class equally often on average.");
        if (loss.Weights is not null && spec.BalancedSampling)
            observer.Log("warning", "Class weights and class-balanced sampling both compensate for imbalance; together they favour the rare classes twice over.");
    }

    /// <summary>The job's classifier: its backbone and a new head. Initialisation draws from torch's global generator:
    /// seeded and built as one section no other job can enter.</summary>
    private ClassifierModel CreateModel(TrainingSpec spec) => TorchRandom.Seeded(spec.Seed, () =>
    {
        var backbone = backbones.Create(spec.Backbone);
        try
        {
            return new ClassifierModel(backbone,
                new ClassifierHead(backbone.Descriptor.FeatureDim, spec.ClassNames.Count, spec.HiddenUnits, spec.Dropout));
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    });

    /// <summary>Feature extraction trains the head on cached features; fine-tuning trains end to end on augmented images.</summary>
    private IEpochRunner CreateRunner(TrainingSpec spec, ClassifierModel model, TrainingLoss trainingLoss, ITrainingObserver observer,
        CancellationToken cancellationToken)
    {
        var featureExtraction = spec.Mode == TrainingMode.FeatureExtraction;
        var pipeline = new TransformPipeline(spec.ImageSize, spec.Resize,
            featureExtraction ? AugmentationOptions.None : spec.Augmentation, model.Backbone.Descriptor.Normalization);
        var source = new BatchSource(images, pipeline);
        return featureExtraction
            ? new FeatureEpochRunner(model, source, featureCache, spec, device, observer, cancellationToken, trainingLoss)
            : new FineTuneEpochRunner(model, source, spec, device, cancellationToken, trainingLoss);
    }

    /// <summary>
    /// The learning-rate range test (<see cref="LearningRateRangeTest"/>; Smith 2017, fastai's <c>lr_find</c>) for the
    /// job as <paramref name="spec"/> describes it: the same model, loss, optimizer and data (feature extraction on the
    /// cached features, fine-tuning end to end on augmented images, with the backbone's rate at the multiplier's ratio),
    /// trained from scratch for up to <paramref name="steps"/> mini-batches at rates rising from 1e-7 to 10. Nothing is
    /// kept: the model is thrown away.
    /// </summary>
    /// <exception cref="ArgumentException">auto mode (it has no learning rate), or no training images</exception>
    public LearningRateRangeTest FindLearningRate(TrainingSpec spec, int steps, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        if (spec.Mode == TrainingMode.Auto) throw new ArgumentException("Auto mode has no learning rate to find: its classifiers are trained to convergence.");
        var train = spec.Items.Where(i => i.Split == DataSplit.Train).ToList();
        if (train.Count == 0) throw new ArgumentException("The range test needs training images.");
        using var generator = new torch.Generator(unchecked((ulong)spec.Seed), device);
        using var model = CreateModel(spec);
        model.Head.UseGenerator(generator);
        try
        {
            model.Freeze(spec.Mode == TrainingMode.FeatureExtraction ? -1 : spec.UnfreezeStages);
            model.to(device);
            using var trainingLoss = new TrainingLoss(spec, train, device);
            using var runner = CreateRunner(spec, model, trainingLoss, observer, cancellationToken);
            using var optimizer = CreateOptimizer(spec, model);
            var groups = optimizer.ParamGroups.ToArray();
            var ratios = groups.Select(g => g.LearningRate / groups[0].LearningRate).ToArray();
            var test = new LearningRateRangeTest(steps: steps);
            void SetRate(int step)
            {
                for (var g = 0; g < groups.Length; g++) groups[g].LearningRate = test.LearningRate(step) * ratios[g];
            }
            SetRate(0);
            var going = true;
            for (var epoch = 0; going && test.Points.Count < steps; epoch++)
            {
                var before = test.Points.Count;
                var pass = runner.TrainEpoch(train, optimizer, epoch, loss =>
                {
                    going = test.Record(loss);
                    if (going) SetRate(test.Points.Count);
                    return going;
                });
                if (pass.Diverged || test.Points.Count == before) break; // a non-finite loss, or nothing trained
            }
            return test;
        }
        finally
        {
            model.Head.UseGenerator(null);
        }
    }

    /// <summary>A training loss above this is a divergence although finite: 100 × ln K, where ln K is the cross-entropy
    /// of a model that gives the K classes equal probability. No run that learns anything gets near it (shared/cases: a
    /// run at learning rate 1 reached 3.4e7 and predicted one class for everything, yet counted as completed).</summary>
    internal static float ExplodedLoss(int classCount) => 100f * MathF.Log(Math.Max(2, classCount));

    /// <summary>What went wrong in an epoch ("the training loss became NaN", "… exploded to 3.4e+07", …), or null.</summary>
    /// <param name="explodedAbove">A finite training loss above this also counts (<see cref="ExplodedLoss"/>).</param>
    internal static string? Divergence(TrainPass pass, bool weightsFinite, bool validated, float valLoss, float valAccuracy,
        float explodedAbove = float.PositiveInfinity)
    {
        static string What(float value) => float.IsNaN(value) ? "NaN" : "infinite";
        if (pass.Diverged || (!float.IsNaN(pass.Loss) && !float.IsFinite(pass.Loss))) return $"the training loss became {What(pass.Loss)}";
        if (float.IsFinite(pass.Loss) && pass.Loss > explodedAbove)
            return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the training loss exploded to {pass.Loss:G3} (a model that guesses scores {explodedAbove / 100:0.##})");
        if (!weightsFinite) return "the model's weights became NaN or infinite";
        if (validated && !float.IsFinite(valLoss)) return $"the validation loss became {What(valLoss)}";
        if (validated && !float.IsFinite(valAccuracy)) return $"the validation accuracy became {What(valAccuracy)}";
        return null;
    }

    /// <summary>The user-level message of a diverged run: the epoch, what went wrong, and what to change: the mode's
    /// default learning rate when the run used a larger one (a tenth of its own otherwise), and for fine-tuning the
    /// default backbone multiplier when it used a larger one.</summary>
    internal static string DivergedMessage(int epoch, string what, TrainingSpec spec, bool featureExtraction)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var kind = featureExtraction ? Contracts.Jobs.JobModeKind.FeatureExtraction : Contracts.Jobs.JobModeKind.FineTune;
        var defaultRate = Contracts.Jobs.JobDefaults.LearningRate(kind);
        var lower = (spec.LearningRate > defaultRate * 1.001 ? defaultRate : spec.LearningRate / 10).ToString("G3", c); // float vs double: 1e-3f is not 1e-3
        var advice = featureExtraction || spec.BackboneLrMultiplier <= Contracts.Jobs.JobDefaults.BackboneLrMultiplier * 1.001
            ? $"Lower the learning rate (e.g. to {lower})."
            : $"Lower the learning rate (e.g. to {lower}) and the backbone LR multiplier (e.g. to {Contracts.Jobs.JobDefaults.BackboneLrMultiplier.ToString(c)}).";
        return $"Training diverged in epoch {epoch}: {what}. {advice}";
    }

    /// <summary>True when every element of every tensor is finite; one scalar read in all.</summary>
    private static bool AllFinite(IEnumerable<Tensor> tensors)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var flags = tensors.Select(t => t.isfinite().all()).ToArray();
        return flags.Length == 0 || torch.stack(flags).all().item<bool>();
    }

    /// <summary>TorchSharp's optimizers with steps whose Scalars they own (see OwnedScalarOptimizers.cs).</summary>
    internal static OptimizerHelper CreateOptimizer(TrainingSpec spec, ClassifierModel model)
    {
        var headParameters = model.Head.parameters().ToList();
        var backboneParameters = model.Backbone.parameters().Where(p => p.requires_grad).ToList();
        double lr = spec.LearningRate, backboneLr = spec.LearningRate * spec.BackboneLrMultiplier, wd = spec.WeightDecay;
        switch (spec.Optimizer)
        {
            case OptimizerKind.AdamW:
            {
                var groups = new List<AdamW.ParamGroup> { new(headParameters, lr: lr, weight_decay: wd) };
                if (backboneParameters.Count > 0) groups.Add(new(backboneParameters, lr: backboneLr, weight_decay: wd));
                return new OwnedScalarAdamW(groups, lr, wd);
            }
            case OptimizerKind.SgdMomentum:
            {
                var groups = new List<SGD.ParamGroup> { new(headParameters, lr: lr, momentum: spec.Momentum, weight_decay: wd) };
                if (backboneParameters.Count > 0) groups.Add(new(backboneParameters, lr: backboneLr, momentum: spec.Momentum, weight_decay: wd));
                return new OwnedScalarSgd(groups, lr, spec.Momentum, wd);
            }
            default:
            {
                var groups = new List<Adam.ParamGroup> { new(headParameters, lr: lr, weight_decay: wd) };
                if (backboneParameters.Count > 0) groups.Add(new(backboneParameters, lr: backboneLr, weight_decay: wd));
                return new OwnedScalarAdam(groups, lr, wd);
            }
        }
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module module)
    {
        using var noGrad = torch.no_grad();
        return module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var t in tensors.Values) t.Dispose();
    }
}
