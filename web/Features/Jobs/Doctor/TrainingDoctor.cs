using System.Globalization;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>
/// The training doctor: rules over a run's epochs, settings, data and sibling runs, each giving a <see cref="Finding"/>
/// with a severity, the numbers that triggered it and advice. A pure function of <see cref="DoctorInput"/> (no clock,
/// no database), cheap enough to run on every read (ADR 023): findings are never stored, so they are never stale.
/// Epoch rules judge only epochs with finite numbers and wait for <see cref="MinEpochs"/> of them; curve rules follow the
/// usual reading of learning curves (Goodfellow, Bengio &amp; Courville 2016, §5.2 and §11.4; Smith 2017/2018 on the
/// learning rate). Thresholds are deliberately conservative: a finding should be worth reading on a 20-image run.
/// </summary>
public static class TrainingDoctor
{
    /// <summary>Every rule id, in the order findings of equal severity are listed.</summary>
    public static readonly IReadOnlyList<string> Rules =
    [
        Diverged, LearningRateTooHigh, LearningRateTooLow, Overfitting, Underfitting, FrozenVersusFineTuned, FewImages,
        ClassImbalance, Leakage, Upscaled, EvaluatedOnTraining,
    ];

    public const string Diverged = "diverged";
    public const string LearningRateTooHigh = "learning-rate-too-high";
    public const string LearningRateTooLow = "learning-rate-too-low";
    public const string Overfitting = "overfitting";
    public const string Underfitting = "underfitting";
    public const string FrozenVersusFineTuned = "frozen-vs-fine-tuned";
    public const string FewImages = "few-images";
    public const string ClassImbalance = "class-imbalance";
    public const string Leakage = "leakage";
    public const string Upscaled = "upscaled";
    public const string EvaluatedOnTraining = "evaluated-on-training";

    /// <summary>Curve rules wait for this many epochs: one or two epochs say little about a trend (the first epoch's mean
    /// loss already includes most of its own learning).</summary>
    public const int MinEpochs = 3;

    /// <summary>Overfitting: the last epoch's training accuracy exceeds its validation accuracy by at least this (15
    /// points). Smaller gaps are normal with a pretrained backbone on small sets, where validation accuracy moves in
    /// steps of 1/n.</summary>
    public const double OverfitGap = 0.15;

    /// <summary>Overfitting: the validation loss reached its minimum at least this many epochs before the last one…</summary>
    public const int ValLossRisingEpochs = 3;

    /// <summary>…and has since risen at least this much above that minimum (10 %): the model grows confidently wrong on
    /// images it does not train on, the classic sign of memorising the training set.</summary>
    public const double ValLossRise = 0.10;

    /// <summary>Underfitting: a finished run whose last training accuracy (and best validation accuracy) stay below chance
    /// + this share of the way from chance to perfect (halfway: 62.5 % for 4 classes, 75 % for 2) has not learned the
    /// training images themselves.</summary>
    public const double UnderfitShareAboveChance = 0.5;

    /// <summary>Learning rate too high (oscillating): an epoch's training loss at least this much above the previous
    /// epoch's (20 %) counts as a jump; mini-batch noise moves a per-epoch mean by a few percent, a too-large step by more.</summary>
    public const double LossJump = 0.20;

    /// <summary>…and it rises by at least this share of a uniform guess's loss, ln(classes) (5 %; also for
    /// <see cref="LossRiseAboveMinimum"/>): near zero, 0.001 → 0.005 is +400 % but only the noise of a model that already
    /// fits its training images.</summary>
    public const double JumpFloorShare = 0.05;

    /// <summary>…and this many jumps make the loss oscillate (one jump can be a hard batch or the backbone unfreezing).</summary>
    public const int OscillationJumps = 2;

    /// <summary>Learning rate too high (rising): the last training loss is at least this much above the lowest so far
    /// (50 %): training is moving away from what it had already reached.</summary>
    public const double LossRiseAboveMinimum = 0.50;

    /// <summary>Learning rate too high (unstable on held-out images): a validation loss at least this many times its
    /// lowest (3×)…</summary>
    public const double ValLossSpikeFactor = 3;

    /// <summary>…while validation accuracy fell at least this far below its best (20 points). Overfitting raises the
    /// validation loss slowly and keeps accuracy near its best; a step that throws the weights off does both at once (a
    /// browser walk-through: a fine-tune at LR 0.05, validation loss 3.0 → 16.3 and accuracy 80 % → 41 %, flagged by no
    /// rule because the training loss moved less).</summary>
    public const double ValAccuracyDrop = 0.20;

    /// <summary>Learning rate too low: after <see cref="MinEpochs"/> epochs the training loss fell by less than this share
    /// of its first epoch's value (5 %)…</summary>
    public const double MinLossDrop = 0.05;

    /// <summary>…while it is still at least this share of the loss of a uniform guess, ln(classes) (half): a loss that
    /// is already low may well stop falling.</summary>
    public const double StillHighLossShare = 0.5;

    /// <summary>Frozen vs fine-tuned: the other mode's mean best validation accuracy beats this mode's by at least this
    /// (5 points)…</summary>
    public const double ModeGapMinimum = 0.05;

    /// <summary>…and by at least this many standard errors of the difference of two accuracies on the validation images
    /// (√(p₁(1−p₁)/n + p₂(1−p₂)/n)); 2 ≈ a 95 % two-sided test, so a 20-image validation split needs about 25 points.</summary>
    public const double ModeGapStandardErrors = 2;

    /// <summary>Upscaled: the run's input size is at least this many times the images' median shorter side (2×).</summary>
    public const double UpscaleFactor = 2;

    /// <summary>The findings about a run, errors first, then warnings, then information; in <see cref="Rules"/> order within a severity.</summary>
    public static IReadOnlyList<Finding> Diagnose(DoctorInput run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var epochs = run.Epochs.OrderBy(e => e.Epoch).ToList();
        var diverged = DivergedFinding(run, epochs);
        Finding?[] findings =
        [
            diverged,
            diverged is null ? TooHigh(run, epochs) : null,
            diverged is null ? TooLow(run, epochs) : null,
            OverfittingFinding(run, epochs),
            diverged is null ? UnderfittingFinding(run, epochs) : null,
            ModeComparison(run, epochs),
            FewImagesFinding(run),
            Imbalance(run),
            LeakageFinding(run),
            UpscaledFinding(run),
            TrainingSplit(run),
        ];
        return [.. findings.OfType<Finding>().OrderByDescending(f => f.Severity).ThenBy(f => Rules.ToList().IndexOf(f.Rule))];
    }

    // ---- the run's curves ----

    /// <summary>The worker stops a run whose loss or weights stop being finite numbers (or whose loss explodes) and ends
    /// it as diverged with its own advice, which this finding repeats, so the run page, API and reports agree with the
    /// worker. An epoch without a finite training loss in a run still going is reported at once (the worker is ending it).</summary>
    private static Finding? DivergedFinding(DoctorInput run, List<EpochPoint> epochs)
    {
        var broken = epochs.FirstOrDefault(e => e.TrainLoss is null || (run.ValImages > 0 && e.ValLoss is null));
        var epoch = broken?.Epoch ?? epochs.LastOrDefault()?.Epoch ?? 0;
        var numbers = Numbers(("epoch", epoch), ("learningRate", run.Settings?.LearningRate ?? 0));
        if (run.Status == JobStatus.Diverged)
        {
            // "Diverged: Training diverged in epoch 2: the training loss became NaN. Lower the learning rate (e.g. to 0.001)."
            var message = run.Message ?? "";
            if (message.StartsWith("Diverged: ", StringComparison.Ordinal)) message = message["Diverged: ".Length..];
            var split = message.IndexOf(" Lower ", StringComparison.Ordinal);
            var (evidence, advice) = split > 0 ? (message[..split], message[(split + 1)..]) : (message, LowerRate(run.Settings));
            return new Finding(Diverged, FindingSeverity.Error, "Diverged",
                string.IsNullOrWhiteSpace(evidence) ? $"The loss stopped being a finite number in epoch {epoch}." : evidence, numbers, advice);
        }
        if (run.Status.IsActive() && broken?.TrainLoss is null && broken is not null)
            return new Finding(Diverged, FindingSeverity.Error, "Diverging",
                $"Epoch {epoch}'s training loss is not a finite number (NaN or infinite); the worker is stopping the run.", numbers, LowerRate(run.Settings));
        return null;
    }

    private static Finding? TooHigh(DoctorInput run, List<EpochPoint> epochs)
    {
        var losses = FiniteTrainLosses(epochs);
        if (losses.Count < MinEpochs) return null;
        var unfreezes = run.Settings is { Mode: TrainingMode.FineTune, HeadFirstEpochs: > 0 } s ? s.HeadFirstEpochs + 1 : -1;
        var floor = run.Classes < 2 ? 0 : JumpFloorShare * Math.Log(run.Classes);
        var jumps = Enumerable.Range(1, losses.Count - 1)
            .Where(i => losses[i].Epoch != unfreezes && losses[i].Loss > losses[i - 1].Loss * (1 + LossJump) && losses[i].Loss - losses[i - 1].Loss >= floor)
            .Select(i => (losses[i].Epoch, Rise: losses[i].Loss / losses[i - 1].Loss - 1)).ToList();
        var lowest = losses.MinBy(l => l.Loss);
        var last = losses[^1];
        var rising = last.Epoch > lowest.Epoch && last.Loss >= lowest.Loss * (1 + LossRiseAboveMinimum) && last.Loss - lowest.Loss >= floor;
        var spike = ValidationSpike(epochs);
        if (jumps.Count < OscillationJumps && !rising && spike is null) return null;
        var evidence = rising
            ? Invariant($"The training loss rose to {last.Loss:0.###} in epoch {last.Epoch}, {Percent(last.Loss / lowest.Loss - 1)} above its lowest ({lowest.Loss:0.###}, epoch {lowest.Epoch})")
            : jumps.Count >= OscillationJumps
                ? Invariant($"The training loss jumped up {jumps.Count} times (") + string.Join(", ", jumps.Select(j => Invariant($"epoch {j.Epoch}: +{Percent(j.Rise)}"))) + ")"
                : Invariant($"The validation loss jumped to {spike!.Value.Loss.ValLoss:0.###} in epoch {spike.Value.Loss.Epoch}, {spike.Value.Loss.ValLoss / spike.Value.LowestLoss.ValLoss:0.#}× its lowest ") +
                  Invariant($"({spike.Value.LowestLoss.ValLoss:0.###}, epoch {spike.Value.LowestLoss.Epoch}), and validation accuracy fell to {Percent(spike.Value.Accuracy.ValAccuracy!.Value)} ") +
                  Invariant($"in epoch {spike.Value.Accuracy.Epoch} from its best {Percent(spike.Value.Best.ValAccuracy!.Value)} (epoch {spike.Value.Best.Epoch})");
        evidence += Invariant($" at a learning rate of {Rate(run.Settings?.LearningRate ?? 0)}: the steps overshoot.");
        return new Finding(LearningRateTooHigh, FindingSeverity.Warning, "Learning rate too high", evidence,
            Numbers(("learningRate", run.Settings?.LearningRate ?? 0), ("lossJumps", jumps.Count), ("largestJump", jumps.Count == 0 ? 0 : jumps.Max(j => j.Rise)),
                ("lastTrainLoss", last.Loss), ("lowestTrainLoss", lowest.Loss),
                ("valLossTimesLowest", spike is { } v ? v.Loss.ValLoss!.Value / v.LowestLoss.ValLoss!.Value : 0),
                ("valAccuracyDrop", spike is { } w ? w.Best.ValAccuracy!.Value - w.Accuracy.ValAccuracy!.Value : 0)),
            LowerRate(run.Settings) + " The launch form's \"Find learning rate\" suggests one for this data.");
    }

    /// <summary>The held-out sign of overshooting steps: after its lowest, the validation loss reaches
    /// <see cref="ValLossSpikeFactor"/>× it and, after its best, validation accuracy falls <see cref="ValAccuracyDrop"/>
    /// below it. Null when either is missing or the run has too few epochs.</summary>
    private static (EpochPoint LowestLoss, EpochPoint Loss, EpochPoint Best, EpochPoint Accuracy)? ValidationSpike(List<EpochPoint> epochs)
    {
        var judged = epochs.Where(e => e.ValLoss is { } l && double.IsFinite(l) && e.ValAccuracy is not null).ToList();
        if (judged.Count < MinEpochs) return null;
        var lowest = judged.MinBy(e => e.ValLoss!.Value)!;
        var spike = judged.Where(e => e.Epoch > lowest.Epoch).MaxBy(e => e.ValLoss!.Value);
        var best = judged.MaxBy(e => e.ValAccuracy!.Value)!;
        var worst = judged.Where(e => e.Epoch > best.Epoch).MinBy(e => e.ValAccuracy!.Value);
        if (spike is null || worst is null || lowest.ValLoss <= 0) return null;
        return spike.ValLoss >= ValLossSpikeFactor * lowest.ValLoss!.Value && best.ValAccuracy - worst.ValAccuracy >= ValAccuracyDrop
            ? (lowest, spike, best, worst)
            : null;
    }

    private static Finding? TooLow(DoctorInput run, List<EpochPoint> epochs)
    {
        var losses = FiniteTrainLosses(epochs);
        if (losses.Count < MinEpochs || run.Classes < 2) return null;
        var (first, last) = (losses[0].Loss, losses[^1].Loss);
        var chanceLoss = Math.Log(run.Classes);
        var drop = first <= 0 ? 0 : (first - last) / first;
        if (drop >= MinLossDrop || last < StillHighLossShare * chanceLoss) return null;
        var rate = run.Settings?.LearningRate ?? 0;
        return new Finding(LearningRateTooLow, FindingSeverity.Warning, "Learning rate too low",
            Invariant($"The training loss barely moved in {losses.Count} epochs: {first:0.###} → {last:0.###} ({Percent(drop)} lower), still ") +
            Invariant($"{Percent(last / chanceLoss)} of a uniform guess's loss (ln {run.Classes} = {chanceLoss:0.###}) at a learning rate of {Rate(rate)}."),
            Numbers(("learningRate", rate), ("firstTrainLoss", first), ("lastTrainLoss", last), ("lossDrop", drop), ("chanceLoss", chanceLoss)),
            Invariant($"Raise the learning rate, e.g. tenfold to {Rate(rate * 10)}, or let the launch form's \"Find learning rate\" suggest one; ") +
            "if a higher rate does not help either, check that the labels match the pictures.");
    }

    private static Finding? OverfittingFinding(DoctorInput run, List<EpochPoint> epochs)
    {
        if (run.ValImages == 0) return null;
        var judged = epochs.Where(e => e.TrainAccuracy is not null && e.ValAccuracy is not null && e.ValLoss is not null).ToList();
        if (judged.Count < MinEpochs) return null;
        var last = judged[^1];
        var (trainAccuracy, valAccuracy, lastLoss) = (last.TrainAccuracy!.Value, last.ValAccuracy!.Value, last.ValLoss!.Value);
        var gap = trainAccuracy - valAccuracy;
        var lowest = judged.MinBy(e => e.ValLoss!.Value)!;
        var lowestLoss = lowest.ValLoss!.Value;
        var since = last.Epoch - lowest.Epoch;
        var rise = lowestLoss <= 0 ? 0 : lastLoss / lowestLoss - 1;
        if (gap < OverfitGap || since < ValLossRisingEpochs || rise < ValLossRise) return null;
        var stopped = run.Settings?.EarlyStoppingPatience is > 0 ? "Early stopping keeps the best epoch's weights; " : "Turn on early stopping (it keeps the best epoch's weights), ";
        return new Finding(Overfitting, FindingSeverity.Warning, "Overfitting",
            Invariant($"Training accuracy {Percent(trainAccuracy)} vs validation {Percent(valAccuracy)} in epoch {last.Epoch} ") +
            Invariant($"(a gap of {gap * 100:0.#} points), and the validation loss has risen for {since} epochs: {lowestLoss:0.###} in epoch ") +
            Invariant($"{lowest.Epoch} → {lastLoss:0.###} ({Percent(rise)} higher). The model memorises its training images."),
            Numbers(("trainAccuracy", trainAccuracy), ("valAccuracy", valAccuracy), ("gap", gap),
                ("lowestValLoss", lowestLoss), ("lowestValLossEpoch", lowest.Epoch), ("lastValLoss", lastLoss), ("epochsRising", since)),
            stopped + "train fewer epochs, add augmentation, weight decay or dropout, freeze more of the backbone, or add images.");
    }

    private static Finding? UnderfittingFinding(DoctorInput run, List<EpochPoint> epochs)
    {
        if (run.Status is not (JobStatus.Completed or JobStatus.Finishing) || run.Classes < 2) return null;
        var judged = epochs.Where(e => e.TrainAccuracy is not null).ToList();
        if (judged.Count < MinEpochs) return null;
        var chance = 1.0 / run.Classes;
        var bar = chance + UnderfitShareAboveChance * (1 - chance);
        var train = judged[^1].TrainAccuracy!.Value;
        double? val = run.ValImages > 0 ? epochs.Max(e => e.ValAccuracy) : null;
        if (train >= bar || val >= bar) return null;
        return new Finding(Underfitting, FindingSeverity.Warning, "Underfitting",
            Invariant($"After {judged.Count} epochs the model gets only {Percent(train)} of its own training images right") +
            (val is { } v ? Invariant($" (best validation {Percent(v)})") : "") +
            Invariant($"; guessing gets {Percent(chance)}, and halfway from guessing to perfect is {Percent(bar)}."),
            Numbers([("trainAccuracy", train), .. val is { } best ? [("bestValAccuracy", best)] : Array.Empty<(string, double)>(),
                ("chanceAccuracy", chance), ("bar", bar)]),
            "Train for more epochs or at a higher learning rate, unfreeze more of the backbone (fine-tune) or add a hidden layer; " +
            "if nothing helps, check that the labels match the pictures.");
    }

    // ---- runs on the same data ----

    /// <summary>Frozen (feature extraction) against fine-tuned runs on the same data, by best validation accuracy (never
    /// test accuracy: the test split plays no part in choosing, ARCHITECTURE invariants). Reported on the runs of the
    /// clearly worse mode, so the advice lands where it helps.</summary>
    private static Finding? ModeComparison(DoctorInput run, List<EpochPoint> epochs)
    {
        if (run.Kind != JobKind.Training || run.Status != JobStatus.Completed || run.ValImages == 0
            || run.Mode is not (TrainingMode.FeatureExtraction or TrainingMode.FineTune)) return null;
        var own = epochs.Max(e => e.ValAccuracy);
        if (own is null) return null;
        var ownRuns = run.Siblings.Where(s => s.Mode == run.Mode).Select(s => s.BestValAccuracy).Append(own.Value).ToList();
        var otherMode = run.Mode == TrainingMode.FineTune ? TrainingMode.FeatureExtraction : TrainingMode.FineTune;
        var otherRuns = run.Siblings.Where(s => s.Mode == otherMode).Select(s => s.BestValAccuracy).ToList();
        if (otherRuns.Count == 0) return null;
        var (p1, p2, n) = (ownRuns.Average(), otherRuns.Average(), (double)run.ValImages);
        var margin = Math.Max(ModeGapMinimum, ModeGapStandardErrors * Math.Sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n));
        if (p2 - p1 < margin) return null;
        var (ownName, otherName) = run.Mode == TrainingMode.FineTune ? ("fine-tuned", "frozen-backbone") : ("frozen-backbone", "fine-tuned");
        return new Finding(FrozenVersusFineTuned, FindingSeverity.Info,
            run.Mode == TrainingMode.FineTune ? "A frozen backbone does better here" : "Fine-tuning does better here",
            Invariant($"On the same data, {otherName} runs reach {Percent(p2)} best validation accuracy ({Runs(otherRuns.Count)}) against ") +
            Invariant($"{Percent(p1)} for {ownName} runs ({Runs(ownRuns.Count)}, this one included): {(p2 - p1) * 100:0.#} points, more than the ") +
            Invariant($"{margin * 100:0.#} points that {run.ValImages} validation images can blur."),
            Numbers(("thisModeAccuracy", p1), ("otherModeAccuracy", p2), ("thisModeRuns", ownRuns.Count), ("otherModeRuns", otherRuns.Count),
                ("validationImages", run.ValImages), ("margin", margin)),
            run.Mode == TrainingMode.FineTune
                ? "Use feature extraction (or Auto) for this data: it is faster, and fine-tuning has not earned its cost here."
                : "Fine-tune for this data (the launch form's fine-tune defaults are a good start); compare the modes on the test split only once you have chosen.");
    }

    // ---- the run's data ----

    private static Finding? FewImagesFinding(DoctorInput run)
    {
        if (run.Data is not { } data) return null;
        var few = data.Classes.Where(c => c.Train < ClassSizeRules.MinTrain).OrderBy(c => c.Train).ToList();
        if (few.Count == 0) return null;
        return new Finding(FewImages, FindingSeverity.Warning, few.Count == 1 ? "Too few images in a class" : "Too few images in some classes",
            $"{Names(few.Select(c => $"{c.Name} ({c.Train})"))} {(few.Count == 1 ? "has" : "have")} fewer than {ClassSizeRules.MinTrain} " +
            "training images: too few to learn a class reliably, and one odd image weighs a lot.",
            Numbers(("classesBelow", few.Count), ("fewestTrainImages", few[0].Train), ("minTrainImages", ClassSizeRules.MinTrain)),
            $"Add training images to {(few.Count == 1 ? "this class" : "these classes")} (aim for {ClassSizeRules.MinTrain}+ each, more is better), " +
            "or move some of their validation images to train.");
    }

    private static Finding? Imbalance(DoctorInput run)
    {
        if (run.Data is not { } data) return null;
        var present = data.Classes.Where(c => c.Train > 0).ToList();
        if (!ClassWeights.IsImbalanced(present.Select(c => c.Train))) return null;
        var (largest, smallest) = (present.MaxBy(c => c.Train)!, present.MinBy(c => c.Train)!);
        var ratio = (double)largest.Train / smallest.Train;
        var handled = run.Mode == TrainingMode.Auto ? "Auto mode scores its classifiers by macro F1 on such data and also tries class-balanced ones; still"
            : run.Settings is { } s && (s.ClassWeighting != ClassWeightingKind.None || s.BalancedSampling)
                ? $"This run already {(s.BalancedSampling ? "samples classes evenly" : "weights the loss by class")}; still"
                : null;
        return new Finding(ClassImbalance, handled is null ? FindingSeverity.Warning : FindingSeverity.Info, "Class imbalance",
            Invariant($"The largest class, {largest.Name}, has {largest.Train} training images, {ratio:0.#}× the smallest, {smallest.Name} ({smallest.Train}): ") +
            "a model can score well by favouring the large classes.",
            Numbers(("ratio", ratio), ("largestTrainImages", largest.Train), ("smallestTrainImages", smallest.Train), ("ratioThreshold", ClassWeights.ImbalanceRatio)),
            (handled is null ? "Turn on class weighting (inverse frequency) or class-balanced sampling in the launch form, or use Auto mode; " : handled + " ") +
            "judge the run by macro F1 and per-class recall rather than accuracy, and add images to the small classes if you can.");
    }

    private static Finding? LeakageFinding(DoctorInput run)
    {
        if (run.Data is not { LeakingHeldOut: > 0 } data) return null;
        var examples = string.Join("; ", data.LeakExamples.Select(p => $"{p.HeldOut} ≈ {p.Train}"));
        return new Finding(Leakage, FindingSeverity.Warning, "Train/test leakage",
            Invariant($"{data.LeakingHeldOut} held-out image(s) have a near-duplicate among the training images (difference hashes within ") +
            Invariant($"{data.DuplicateThreshold} of 64 bits), e.g. {examples}. Held-out pictures the model has practically trained on make ") +
            "validation and test accuracy optimistic.",
            Numbers(("heldOutImages", data.LeakingHeldOut), ("threshold", data.DuplicateThreshold)),
            "Open the dataset's Near-duplicates and search (it compares the backbone's features, so it also finds cropped and " +
            "brightened copies this check misses), keep one image of each group that crosses splits or move the group into one " +
            "split, then train again.");
    }

    private static Finding? UpscaledFinding(DoctorInput run)
    {
        if (run.Data?.Sizes.ShorterSide is not { } side || run.Settings is not { } settings || side.Median <= 0) return null;
        var factor = settings.ImageSize / side.Median;
        if (factor < UpscaleFactor) return null;
        return new Finding(Upscaled, FindingSeverity.Info, "Images upscaled",
            Invariant($"The network sees {settings.ImageSize} px but the images' median shorter side is {side.Median:0.#} px ") +
            Invariant($"(smallest {side.Min}, largest {side.Max}): they are enlarged about {factor:0.#}×, which adds no detail and costs time."),
            Numbers(("inputSize", settings.ImageSize), ("medianShorterSide", side.Median), ("factor", factor)),
            Invariant($"Try an image size closer to the pictures' own (e.g. {Math.Max(64, (int)(Math.Ceiling(side.Median / 32) * 32))} px) and compare on validation; ") +
            "pretrained features sometimes still prefer larger inputs, so keep whichever validates better.");
    }

    private static Finding? TrainingSplit(DoctorInput run) => run.EvaluatedSplit != "train" ? null
        : new Finding(EvaluatedOnTraining, FindingSeverity.Warning, "Evaluated on training images",
            "This run has no held-out images, so its accuracy was measured on the images it trained on: it is optimistic and says little about new images.",
            Numbers(("heldOutImages", 0)),
            "Split the dataset (train / validation / test) and train again to measure it honestly.");

    // ---- helpers ----

    private static List<(int Epoch, double Loss)> FiniteTrainLosses(List<EpochPoint> epochs) =>
        [.. epochs.Where(e => e.TrainLoss is { } l && double.IsFinite(l)).Select(e => (e.Epoch, e.TrainLoss!.Value))];

    /// <summary>The worker's advice for a diverged run (gpu-worker Trainer.DivergedMessage): the mode's default learning
    /// rate when the run used a larger one, else a tenth of its own.</summary>
    private static string LowerRate(JobSettings? settings)
    {
        if (settings is null) return "Lower the learning rate.";
        var kind = settings.Mode == TrainingMode.FineTune ? JobModeKind.FineTune : JobModeKind.FeatureExtraction;
        var defaultRate = JobDefaults.LearningRate(kind);
        return Invariant($"Lower the learning rate (e.g. to {Rate(settings.LearningRate > defaultRate * 1.001 ? defaultRate : settings.LearningRate / 10)}).");
    }

    private static IReadOnlyDictionary<string, double> Numbers(params (string Name, double Value)[] numbers) =>
        numbers.ToDictionary(n => n.Name, n => n.Value);

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list.Take(list.Count - 1)) + " and " + list[^1];
    }

    private static string Runs(int count) => count == 1 ? "1 run" : $"{count} runs";

    private static string Percent(double fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %";

    private static string Rate(double rate) => rate.ToString("G3", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
