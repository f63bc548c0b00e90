using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Jobs.Doctor;
using static TransferHub.Web.Features.Jobs.Doctor.TrainingDoctor;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Each rule of the training doctor on synthetic epoch histories and data: one case that fires, and one just on
/// the other side of its threshold that does not.</summary>
public sealed class TrainingDoctorTests
{
    private static readonly JobSettings FeatureExtraction = JobSettings.ForMode(TrainingMode.FeatureExtraction, "resnet18x3-imagenet");

    private static EpochPoint E(int epoch, double? trainLoss, double? trainAccuracy = null, double? valLoss = null, double? valAccuracy = null) =>
        new(epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, 1, 100, false, 0.003);

    /// <summary>Epochs from parallel lists of values (train loss, train accuracy, val loss, val accuracy).</summary>
    private static IReadOnlyList<EpochPoint> Curves(double[] trainLoss, double[]? trainAccuracy = null, double[]? valLoss = null, double[]? valAccuracy = null) =>
        [.. trainLoss.Select((l, i) => E(i + 1, l, trainAccuracy?[i], valLoss?[i], valAccuracy?[i]))];

    private static DoctorInput Run(IReadOnlyList<EpochPoint> epochs, JobStatus status = JobStatus.Completed, JobSettings? settings = null,
        int classes = 2, int valImages = 10, RunDataFacts? data = null, IReadOnlyList<SiblingRun>? siblings = null, string? message = null,
        string evaluatedSplit = "test", TrainingMode? mode = null)
    {
        settings ??= FeatureExtraction;
        return new DoctorInput(status, JobKind.Training, mode ?? settings.Mode, message, evaluatedSplit, classes, valImages, settings, epochs, data, siblings ?? []);
    }

    private static Finding? Rule(DoctorInput run, string rule) => Diagnose(run).SingleOrDefault(f => f.Rule == rule);

    // ---- overfitting ----

    private static DoctorInput Overfit(double lastValAccuracy, double lastValLoss)
    {
        // Validation loss bottoms out in epoch 3 (0.45), then climbs; training accuracy reaches 100 %.
        List<double> valLoss = [0.6, 0.5, 0.45, 0.5, 0.52, lastValLoss];
        var n = valLoss.Count;
        return Run(Curves([.. Enumerable.Range(0, n).Select(i => 0.6 / (i + 1))], [.. Enumerable.Range(0, n).Select(i => Math.Min(1, 0.7 + 0.1 * i))],
            [.. valLoss], [.. Enumerable.Range(0, n).Select(i => i == n - 1 ? lastValAccuracy : 0.7)]));
    }

    [Fact]
    public void OverfittingFiresWhenTrainingAccuracyIsWellAboveValidationAndValidationLossRoseForSeveralEpochs()
    {
        var finding = Rule(Overfit(lastValAccuracy: 0.75, lastValLoss: 0.55), Overfitting);

        Assert.NotNull(finding);
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Equal(0.25, finding.Numbers["gap"], 6);
        Assert.Equal(3, finding.Numbers["lowestValLossEpoch"]);
        Assert.Equal(3, finding.Numbers["epochsRising"]);
        Assert.Contains("Training accuracy 100 % vs validation 75 %", finding.Evidence);
        Assert.Contains("0.45 in epoch 3 → 0.55", finding.Evidence);
        Assert.Contains("early stopping", finding.Advice, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void OverfittingStaysQuietJustBelowEachOfItsThresholds()
    {
        Assert.Null(Rule(Overfit(lastValAccuracy: 0.86, lastValLoss: 0.55), Overfitting));        // gap 14 points < 15
        Assert.Null(Rule(Overfit(lastValAccuracy: 0.75, lastValLoss: 0.49), Overfitting));        // 8.9 % above the minimum < 10 %
        var lateMinimum = Overfit(lastValAccuracy: 0.75, lastValLoss: 0.55);
        var epochs = lateMinimum.Epochs.ToList();
        epochs[3] = epochs[3] with { ValLoss = 0.44 };                                           // the minimum only 2 epochs before the last
        Assert.Null(Rule(lateMinimum with { Epochs = epochs }, Overfitting));
    }

    // ---- underfitting ----

    private static DoctorInput Underfit(double lastTrainAccuracy, JobStatus status = JobStatus.Completed) =>
        Run(Curves([1.3, 1.25, 1.2], [0.4, 0.5, lastTrainAccuracy], [1.3, 1.3, 1.3], [0.4, 0.5, 0.55]), status, classes: 4);

    [Fact]
    public void UnderfittingFiresWhenAFinishedRunStaysBelowHalfwayFromChanceToPerfectOnItsOwnTrainingImages()
    {
        var finding = Rule(Underfit(lastTrainAccuracy: 0.6), Underfitting);

        Assert.NotNull(finding);
        Assert.Equal(0.25, finding.Numbers["chanceAccuracy"]);
        Assert.Equal(0.625, finding.Numbers["bar"]);
        Assert.Equal(0.55, finding.Numbers["bestValAccuracy"]);
        Assert.Contains("only 60 % of its own training images", finding.Evidence);
    }

    [Fact]
    public void UnderfittingStaysQuietJustAboveTheBarAndWhileTheRunIsStillTraining()
    {
        Assert.Null(Rule(Underfit(lastTrainAccuracy: 0.63), Underfitting));
        Assert.Null(Rule(Underfit(lastTrainAccuracy: 0.6, JobStatus.Running), Underfitting));
    }

    // ---- learning rate too high ----

    [Fact]
    public void LearningRateTooHighFiresWhenTheTrainingLossJumpsUpTwiceOrRisesWellAboveItsLowest()
    {
        var oscillating = Rule(Run(Curves([1.0, 0.7, 0.9, 0.6, 0.75])), LearningRateTooHigh);
        var rising = Rule(Run(Curves([1.0, 0.5, 0.6, 0.76])), LearningRateTooHigh);

        Assert.NotNull(oscillating);
        Assert.Equal(2, oscillating.Numbers["lossJumps"]);
        Assert.Contains("jumped up 2 times (epoch 3: +28.6 %, epoch 5: +25 %)", oscillating.Evidence);
        Assert.StartsWith("Lower the learning rate (e.g. to 0.0003)", oscillating.Advice); // a tenth of the default 3e-3
        Assert.NotNull(rising);
        Assert.Contains("52 % above its lowest (0.5, epoch 2)", rising.Evidence);
    }

    [Fact]
    public void LearningRateTooHighStaysQuietForSmallerJumpsASmallerRiseAndTheEpochTheBackboneUnfreezes()
    {
        Assert.Null(Rule(Run(Curves([1.0, 0.7, 0.83, 0.6, 0.71])), LearningRateTooHigh));  // jumps of 18.6 % and 18.3 %
        Assert.Null(Rule(Run(Curves([1.0, 0.5, 0.6, 0.74])), LearningRateTooHigh));        // 48 % above the lowest
        Assert.Null(Rule(Run(Curves([0.5, 0.01, 0.001, 0.005, 0.001, 0.03])), LearningRateTooHigh)); // +400 %, +2900 %: near zero, < 5 % of ln 2
        var fineTune = JobSettings.ForMode(TrainingMode.FineTune, "b");
        fineTune.HeadFirstEpochs = 1;
        double[] losses = [0.6, 0.9, 0.7, 0.85, 0.6];                                        // epoch 2 unfreezes the backbone
        Assert.Null(Rule(Run(Curves(losses), settings: fineTune), LearningRateTooHigh));
        fineTune.HeadFirstEpochs = 0;
        Assert.NotNull(Rule(Run(Curves(losses), settings: fineTune), LearningRateTooHigh));
    }

    [Fact]
    public void LearningRateTooHighFiresWhenTheValidationLossSpikesAndValidationAccuracyCollapses()
    {
        // The browser walk-through's fine-tune at LR 0.05: the training loss moved too little for the other signs.
        var run = Run(Curves(trainLoss: [1.2, 0.9, 0.95, 1.0, 0.98, 1.05], trainAccuracy: [0.5, 0.6, 0.6, 0.58, 0.6, 0.57],
            valLoss: [3.0, 5.0, 16.3, 9.0, 12.0, 10.0], valAccuracy: [0.80, 0.60, 0.41, 0.50, 0.45, 0.48]), classes: 6);

        var finding = Rule(run, LearningRateTooHigh);

        Assert.NotNull(finding);
        Assert.Contains("validation loss jumped to 16.3 in epoch 3, 5.4× its lowest (3, epoch 1), and validation accuracy fell to 41 % in epoch 3 from its best 80 % (epoch 1)", finding.Evidence);
        Assert.Equal(0.39, finding.Numbers["valAccuracyDrop"], 9);
    }

    [Fact]
    public void AValidationLossThatRisesWithoutAccuracyCollapsingOrCollapsesWithoutASpikeIsNotALearningRateProblem()
    {
        // Loss 3× its lowest but accuracy only 10 points down: overfitting's territory, not overshooting.
        Assert.Null(Rule(Run(Curves(trainLoss: [1.0, 0.6, 0.4, 0.3], valLoss: [1.0, 2.0, 3.1, 3.0], valAccuracy: [0.8, 0.75, 0.7, 0.72])), LearningRateTooHigh));
        // Accuracy 30 points down but the loss only 2.9× its lowest.
        Assert.Null(Rule(Run(Curves(trainLoss: [1.0, 0.6, 0.4, 0.3], valLoss: [1.0, 2.0, 2.9, 2.5], valAccuracy: [0.8, 0.6, 0.5, 0.55])), LearningRateTooHigh));
    }

    // ---- learning rate too low ----

    [Fact]
    public void LearningRateTooLowFiresWhenTheLossBarelyMovesFromTheLossOfAGuess()
    {
        var finding = Rule(Run(Curves([0.70, 0.69, 0.68])), LearningRateTooLow);

        Assert.NotNull(finding);
        Assert.Equal(Math.Log(2), finding.Numbers["chanceLoss"], 9);
        Assert.Equal(0.02 / 0.70, finding.Numbers["lossDrop"], 9);
        Assert.Contains("tenfold to 0.03", finding.Advice);
    }

    [Fact]
    public void LearningRateTooLowStaysQuietWhenTheLossFellFivePercentOrIsAlreadyLow()
    {
        Assert.Null(Rule(Run(Curves([0.70, 0.68, 0.664])), LearningRateTooLow));   // 5.1 % lower
        Assert.Null(Rule(Run(Curves([0.30, 0.295, 0.29])), LearningRateTooLow));   // barely moving, but far below ln 2
        Assert.Null(Rule(Run(Curves([0.70, 0.69])), LearningRateTooLow));          // too few epochs to judge
    }

    // ---- diverged ----

    [Fact]
    public void ADivergedRunIsAnErrorThatRepeatsTheWorkersReasonAndAdvice()
    {
        var settings = JobSettings.ForMode(TrainingMode.FineTune, "b");
        settings.LearningRate = 10;
        var run = Run([E(1, 2.1, 0.5, 2.5, 0.5), E(2, null, 0.5, null, null)], JobStatus.Diverged, settings,
            message: "Diverged: Training diverged in epoch 2: the training loss became NaN. Lower the learning rate (e.g. to 0.001).");

        var findings = Diagnose(run);

        var diverged = findings[0];
        Assert.Equal((Diverged, FindingSeverity.Error), (diverged.Rule, diverged.Severity));
        Assert.Equal("Training diverged in epoch 2: the training loss became NaN.", diverged.Evidence);
        Assert.Equal("Lower the learning rate (e.g. to 0.001).", diverged.Advice);
        Assert.Equal(2, diverged.Numbers["epoch"]);
        Assert.Equal(10, diverged.Numbers["learningRate"]);
        Assert.DoesNotContain(findings, f => f.Rule is LearningRateTooHigh or Underfitting); // the divergence says it all
    }

    [Fact]
    public void ANonFiniteLossIsReportedAsSoonAsItsEpochArrivesAndAFiniteRunAtTheSameRateIsNotDiverged()
    {
        var settings = JobSettings.ForMode(TrainingMode.FineTune, "b");
        settings.LearningRate = 10;

        var live = Rule(Run([E(1, 2.1), E(2, null)], JobStatus.Running, settings, valImages: 0), Diverged);
        var finite = Rule(Run([E(1, 2.1), E(2, 1.9)], JobStatus.Completed, settings, valImages: 0), Diverged);

        Assert.NotNull(live);
        Assert.Equal(FindingSeverity.Error, live.Severity);
        Assert.StartsWith("Lower the learning rate (e.g. to 0.001)", live.Advice); // the fine-tune default, as the worker advises
        Assert.Null(finite);
    }

    // ---- frozen vs fine-tuned ----

    [Fact]
    public void AFrozenRunClearlyBehindFineTunedRunsOnTheSameDataIsToldSoAndTheFineTunedRunIsNot()
    {
        var epochs = Curves([0.5, 0.4, 0.3], [0.8, 0.85, 0.9], [0.6, 0.55, 0.5], [0.6, 0.65, 0.70]);
        SiblingRun[] fineTuned = [new(2, TrainingMode.FineTune, 0.85), new(3, TrainingMode.FineTune, 0.86)];

        var finding = Rule(Run(epochs, valImages: 100, siblings: fineTuned), FrozenVersusFineTuned);
        var onTheBetterRun = Rule(Run(Curves([0.5, 0.4, 0.3], [0.8, 0.85, 0.9], [0.6, 0.55, 0.5], [0.8, 0.85, 0.85]), valImages: 100,
            settings: JobSettings.ForMode(TrainingMode.FineTune, "b"), siblings: [new(1, TrainingMode.FeatureExtraction, 0.70)]), FrozenVersusFineTuned);

        Assert.NotNull(finding);
        Assert.Equal(FindingSeverity.Info, finding.Severity);
        Assert.Equal("Fine-tuning does better here", finding.Title);
        Assert.Equal(0.855, finding.Numbers["otherModeAccuracy"], 9);
        Assert.Equal(0.70, finding.Numbers["thisModeAccuracy"], 9);
        Assert.Equal(2 * Math.Sqrt(0.7 * 0.3 / 100 + 0.855 * 0.145 / 100), finding.Numbers["margin"], 9);
        Assert.Null(onTheBetterRun);
    }

    [Fact]
    public void AGapWithinWhatTheValidationImagesCanBlurIsNoFinding()
    {
        var epochs = Curves([0.5, 0.4, 0.3], [0.8, 0.85, 0.9], [0.6, 0.55, 0.5], [0.6, 0.65, 0.70]);

        Assert.Null(Rule(Run(epochs, valImages: 100, siblings: [new(2, TrainingMode.FineTune, 0.81)]), FrozenVersusFineTuned)); // 11 < 12.1 points
        Assert.NotNull(Rule(Run(epochs, valImages: 100, siblings: [new(2, TrainingMode.FineTune, 0.83)]), FrozenVersusFineTuned));
        Assert.Null(Rule(Run(epochs, valImages: 10, siblings: [new(2, TrainingMode.FineTune, 0.9)]), FrozenVersusFineTuned)); // 10 images: 35 points blur
    }

    // ---- data ----

    private static RunDataFacts Data(params (string Name, int Train)[] classes) =>
        RunDataFacts.Of([.. classes.Select(c => c.Name)], [.. classes.SelectMany((c, k) => Enumerable.Range(0, c.Train)
            .Select(i => new RunDataFacts.Image($"{c.Name}-{i}.png", k, DataSplitKind.Train, 300, 300, null)))]);

    [Fact]
    public void AClassWithFewerThanTenTrainingImagesIsNamedWithItsCount()
    {
        var finding = Rule(Run([], data: Data(("cat", 9), ("dog", 20))), FewImages);

        Assert.NotNull(finding);
        Assert.Equal("cat (9) has fewer than 10 training images: too few to learn a class reliably, and one odd image weighs a lot.", finding.Evidence);
        Assert.Equal(9, finding.Numbers["fewestTrainImages"]);
        Assert.Null(Rule(Run([], data: Data(("cat", 10), ("dog", 20))), FewImages));
    }

    [Fact]
    public void ClassesThreeTimesApartAreImbalancedAndARunThatWeighsClassesIsOnlyReminded()
    {
        var weighted = JobSettings.ForMode(TrainingMode.FeatureExtraction, "b");
        weighted.ClassWeighting = ClassWeightingKind.InverseFrequency;

        var finding = Rule(Run([], data: Data(("cat", 30), ("dog", 10))), ClassImbalance);
        var handled = Rule(Run([], settings: weighted, data: Data(("cat", 30), ("dog", 10))), ClassImbalance);

        Assert.NotNull(finding);
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Equal(3, finding.Numbers["ratio"]);
        Assert.Contains("cat, has 30 training images, 3× the smallest, dog (10)", finding.Evidence);
        Assert.Equal(FindingSeverity.Info, handled!.Severity);
        Assert.Null(Rule(Run([], data: Data(("cat", 29), ("dog", 10))), ClassImbalance));
    }

    [Fact]
    public void NearDuplicatesAcrossSplitsAreLeakageAtTheStrictHashThresholdAndOneBitFurtherApartAreNot()
    {
        // Two pictures whose difference hashes differ in 2 bits (the near-duplicate search's strict fallback) or in 3.
        RunDataFacts Facts(long testHash) => RunDataFacts.Of(["cat", "dog"],
        [
            new("cat-1.png", 0, DataSplitKind.Train, 64, 64, 0L), new("cat-2.png", 0, DataSplitKind.Test, 64, 64, testHash),
            new("dog-1.png", 1, DataSplitKind.Train, 64, 64, -1L), new("dog-2.png", 1, DataSplitKind.Train, 64, 64, -1L), // same split: no leak
            new("dog-3.png", 1, DataSplitKind.Val, 64, 64, null),
        ]);

        var leaking = Facts(0b11);
        var finding = Rule(Run([], data: RunDataFacts.FromJson(leaking.ToJson())), Leakage);

        Assert.Equal((1, 1), (leaking.LeakingHeldOut, leaking.Unhashed));
        Assert.NotNull(finding);
        Assert.Contains("1 held-out image(s) have a near-duplicate among the training images", finding.Evidence);
        Assert.Contains("cat-2.png (test) ≈ cat-1.png (train)", finding.Evidence);
        Assert.Equal(DuplicateService.FallbackBits, finding.Numbers["threshold"]);
        Assert.Equal(0, Facts(0b111).LeakingHeldOut);
        Assert.Null(Rule(Run([], data: Facts(0b111)), Leakage));
    }

    [Fact]
    public void ImagesWhoseMedianShorterSideIsHalfTheInputOrLessAreUpscaled()
    {
        RunDataFacts Sized(int side) => RunDataFacts.FromJson(RunDataFacts.Of(["a", "b"],
            [.. Enumerable.Range(0, 5).Select(i => new RunDataFacts.Image($"{i}.png", i % 2, DataSplitKind.Train, side + 40, side, null))]).ToJson())!;

        var finding = Rule(Run([], data: Sized(112)), Upscaled); // 224 px input
        var fashion = Rule(Run([], data: Sized(28)), Upscaled);

        Assert.NotNull(finding);
        Assert.Equal((224, 112, 2), (finding.Numbers["inputSize"], finding.Numbers["medianShorterSide"], finding.Numbers["factor"]));
        Assert.Contains("enlarged about 8×", fashion!.Evidence);
        Assert.Contains("e.g. 64 px", fashion.Advice);
        Assert.Null(Rule(Run([], data: Sized(113)), Upscaled));
    }

    [Fact]
    public void ARunEvaluatedOnItsTrainingImagesIsWarnedAndOneEvaluatedOnValidationIsNot()
    {
        Assert.Equal(FindingSeverity.Warning, Rule(Run([], evaluatedSplit: "train"), EvaluatedOnTraining)!.Severity);
        Assert.Null(Rule(Run([], evaluatedSplit: "val"), EvaluatedOnTraining));
    }

    [Fact]
    public void FindingsComeWorstFirstAndAHealthyRunHasNone()
    {
        var healthy = Run(Curves([0.6, 0.4, 0.3, 0.25], [0.7, 0.85, 0.9, 0.92], [0.55, 0.45, 0.4, 0.38], [0.75, 0.85, 0.88, 0.9]),
            data: Data(("cat", 20), ("dog", 25)));
        var troubled = Run([E(1, 2.0), E(2, null)], JobStatus.Diverged, evaluatedSplit: "train", data: Data(("cat", 5), ("dog", 40)),
            message: "Diverged: Training diverged in epoch 2: the training loss became NaN. Lower the learning rate (e.g. to 0.003).");

        Assert.Empty(Diagnose(healthy));
        Assert.Equal([Diverged, FewImages, ClassImbalance, EvaluatedOnTraining], Diagnose(troubled).Select(f => f.Rule));
    }
}
