using TransferHub.Contracts.Jobs;

namespace TransferHub.Contracts.Tests.Jobs;

/// <summary>The one validation of a job's settings that the launch form, the API and the worker share: what the
/// faults found by trying the product (shared/cases) sent through, and the edges of every range.</summary>
public sealed class JobRulesTests
{
    private static readonly AugmentationValues Light = new(0.6, 1, 10, 0.2, 0.2, 0.2, 0);

    private static JobValues FineTune(AugmentationValues? augmentation = null) => new()
    {
        Backbone = "resnet18x3-imagenet", Mode = JobModeKind.FineTune, UnfreezeStages = 1, BackboneStages = 4,
        LearningRate = JobDefaults.FineTuneLearningRate, Epochs = 10, ImageSize = 224, EarlyStoppingPatience = 3, Seed = 1,
        Augmentation = augmentation ?? Light,
    };

    [Fact]
    public void TheDefaultsOfBothModesAreAccepted()
    {
        Assert.Empty(JobRules.Check(FineTune()));
        Assert.Empty(JobRules.Check(FineTune() with { Mode = JobModeKind.FeatureExtraction, Augmentation = null, UnfreezeStages = 0,
            LearningRate = JobDefaults.FeatureExtractionLearningRate, Epochs = JobDefaults.FeatureExtractionEpochs }));
    }

    [Theory]
    [InlineData(500, 0.2, 0, "augmentation.rotationDegrees")]
    [InlineData(-5, 0.2, 0, "augmentation.rotationDegrees")]
    [InlineData(1e308, 0.2, 0, "augmentation.rotationDegrees")]
    [InlineData(double.NaN, 0.2, 0, "augmentation.rotationDegrees")]
    [InlineData(10, 50, 0, "augmentation.brightness")]
    [InlineData(10, 1, 0, "augmentation.brightness")]
    [InlineData(10, 0.2, 7, "augmentation.grayscaleProbability")]
    [InlineData(10, 0.2, -0.1, "augmentation.grayscaleProbability")]
    public void AugmentationOutOfRangeIsRefusedNamingTheField(double rotation, double brightness, double grayscale, string field)
    {
        var problems = JobRules.Check(FineTune(Light with { RotationDegrees = rotation, Brightness = brightness, GrayscaleProbability = grayscale }));

        var problem = Assert.Single(problems);
        Assert.Equal(field, problem.Field);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var problems = JobRules.Check(FineTune(Light with { RotationDegrees = 500, Brightness = 50, GrayscaleProbability = 7 })
            with { LearningRate = 0, Epochs = 0, BatchSize = 5000, ImageSize = 8, Seed = -1 });

        Assert.Equal(["augmentation.brightness", "augmentation.grayscaleProbability", "augmentation.rotationDegrees", "batchSize", "earlyStoppingPatience",
            "epochs", "imageSize", "learningRate", "seed"], problems.Select(p => p.Field).Distinct().Order());
    }

    [Theory]
    [InlineData(9223372036854775807L, 3)]
    [InlineData(9007199254740991L, 2)]
    [InlineData(9007199254740990L, 3)]
    [InlineData(-1L, 1)]
    [InlineData(long.MinValue, 1)]
    public void SeedsThatAreNegativeOrOverflowWithRepeatsAreRefused(long seed, int repeats)
    {
        var problem = Assert.Single(JobRules.Check(FineTune() with { Seed = seed, Repeats = repeats }));
        Assert.Equal("seed", problem.Field);
    }

    [Theory]
    [InlineData(0L, 10)]
    [InlineData(9007199254740982L, 10)]
    [InlineData(9007199254740991L, 1)]
    public void SeedsUpToTheLargestExactJsonIntegerAreAccepted(long seed, int repeats) =>
        Assert.Empty(JobRules.Check(FineTune() with { Seed = seed, Repeats = repeats }));

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a\\b")]
    [InlineData(" resnet18")]
    [InlineData("resnet\n18")]
    public void NamesThatCannotBeABackboneAreRefused(string name)
    {
        var problem = Assert.Single(JobRules.Check(FineTune() with { Backbone = name }));
        Assert.Equal("backbone", problem.Field);
    }

    [Theory]
    [InlineData("resnet18x3-imagenet")]
    [InlineData("resnet50-My Weights v2")]
    [InlineData("mobilenet_v2-random")]
    public void NamesWorkersPublishAreAccepted(string name) => Assert.Empty(JobRules.Check(FineTune() with { Backbone = name }));

    [Fact]
    public void FeatureExtractionWithAugmentationIsAContradiction()
    {
        var problem = Assert.Single(JobRules.Check(FineTune() with { Mode = JobModeKind.FeatureExtraction, UnfreezeStages = 0 }));
        Assert.Equal("augment", problem.Field);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1e-3)]
    [InlineData(10.0001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void LearningRatesOutsideTheRangeAreRefused(double rate) =>
        Assert.Equal("learningRate", Assert.Single(JobRules.Check(FineTune() with { LearningRate = rate })).Field);

    [Fact]
    public void UnfreezingMoreStagesThanTheBackboneHasIsRefusedOnlyWhenTheStagesAreKnown()
    {
        Assert.Equal("unfreezeStages", Assert.Single(JobRules.Check(FineTune() with { UnfreezeStages = 5 })).Field);
        Assert.Empty(JobRules.Check(FineTune() with { UnfreezeStages = 5, BackboneStages = null }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void AnEffectiveNumberBetaOutsideZeroToOneIsRefusedSayingWhatIsAllowed(double beta)
    {
        var problem = Assert.Single(JobRules.Check(FineTune() with { ClassWeighting = ClassWeightingKind.EffectiveNumber, ClassWeightBeta = beta }));

        Assert.Equal("classWeightBeta", problem.Field);
        Assert.StartsWith("The effective-number β must be above 0 and below 1 (typical: 0.9 to 0.9999); got ", problem.Message);
        // Only effective-number weighting reads β.
        Assert.Empty(JobRules.Check(FineTune() with { ClassWeighting = ClassWeightingKind.InverseFrequency, ClassWeightBeta = beta }));
    }

    [Fact]
    public void ClassWeightsAndBalancedSamplingAreAcceptedInBothManualModesAndAnUnknownWeightingIsRefused()
    {
        var featureExtraction = FineTune() with { Mode = JobModeKind.FeatureExtraction, Augmentation = null, UnfreezeStages = 0 };
        foreach (var values in new[] { FineTune(), featureExtraction })
        {
            Assert.Empty(JobRules.Check(values with { ClassWeighting = ClassWeightingKind.EffectiveNumber, ClassWeightBeta = 0.9999, BalancedSampling = true }));
            Assert.Empty(JobRules.Check(values with { ClassWeighting = ClassWeightingKind.InverseFrequency }));
        }
        var problem = Assert.Single(JobRules.Check(FineTune() with { ClassWeighting = (ClassWeightingKind)7 }));
        Assert.Equal(("classWeighting", "Class weighting must be none, inverseFrequency or effectiveNumber."), (problem.Field, problem.Message));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    public void HeadFirstEpochsFewerThanTheEpochsAreAccepted(int headFirst) =>
        Assert.Empty(JobRules.Check(FineTune() with { HeadFirstEpochs = headFirst }));

    [Fact]
    public void HeadFirstEpochsThatLeaveNoEpochToFineTuneAreRefusedAndOnlyInFineTuning()
    {
        var problem = Assert.Single(JobRules.Check(FineTune() with { HeadFirstEpochs = 10 }));
        Assert.Equal(("headFirstEpochs", "Head-first epochs must be fewer than the epochs (10), so that the backbone trains in at least one; got 10. " +
            "To train only the head, use feature extraction."), (problem.Field, problem.Message));
        Assert.Equal("Head-first epochs cannot be negative (0 turns them off).", Assert.Single(JobRules.Check(FineTune() with { HeadFirstEpochs = -1 })).Message);
        // Feature extraction trains only the head anyway: the setting does not apply.
        Assert.Empty(JobRules.Check(FineTune() with { Mode = JobModeKind.FeatureExtraction, Augmentation = null, UnfreezeStages = 0, HeadFirstEpochs = 50 }));
        // Out-of-range epochs are reported once, on epochs.
        Assert.Equal("epochs", Assert.Single(JobRules.Check(FineTune() with { Epochs = 0, EarlyStoppingPatience = 0, HeadFirstEpochs = 2 })).Field);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(2)]
    [InlineData(1)]
    public void TheDefaultHeadFirstEpochsAlwaysLeaveAnEpochToFineTune(int epochs)
    {
        var headFirst = JobDefaults.HeadFirstEpochs(epochs);

        Assert.InRange(headFirst, 0, epochs - 1);
        Assert.Equal(Math.Min(JobDefaults.FineTuneHeadFirstEpochs, epochs - 1), headFirst);
        Assert.Empty(JobRules.Check(FineTune() with { Epochs = epochs, EarlyStoppingPatience = 0, HeadFirstEpochs = headFirst }));
    }
}

/// <summary>Auto mode (autopilot, ADR 014): its time budget is checked, the training recipe it ignores is not, and
/// augmentation is refused with a reason of its own.</summary>
public sealed class AutoModeRulesTests
{
    private static JobValues Auto() => new() { Backbone = "resnet18x3-imagenet", Mode = JobModeKind.Auto, ImageSize = 224, Seed = 1 };

    [Fact]
    public void TheDefaultTimeBudgetIsAcceptedWithoutAnyTrainingRecipe()
    {
        Assert.Equal(JobDefaults.AutoTimeBudgetSeconds, Auto().TimeBudgetSeconds);
        Assert.Empty(JobRules.Check(Auto())); // learning rate 0 and 0 epochs: Auto ignores them
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(3601)]
    [InlineData(int.MaxValue)]
    public void ABudgetOutsideOneSecondToAnHourIsRefusedNamingTheField(int seconds)
    {
        var problem = Assert.Single(JobRules.Check(Auto() with { TimeBudgetSeconds = seconds }));

        Assert.Equal("timeBudgetSeconds", problem.Field);
        Assert.Contains($"1 to {JobRules.MaxTimeBudgetSeconds} seconds", problem.Message);
        Assert.Contains($"got {seconds}", problem.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3600)]
    public void TheEdgesOfTheBudgetAreAccepted(int seconds) => Assert.Empty(JobRules.Check(Auto() with { TimeBudgetSeconds = seconds }));

    [Fact]
    public void TheBudgetIsNotCheckedForModesThatIgnoreIt() =>
        Assert.Empty(JobRules.Check(Auto() with { Mode = JobModeKind.FeatureExtraction, LearningRate = JobDefaults.FeatureExtractionLearningRate,
            Epochs = JobDefaults.FeatureExtractionEpochs, TimeBudgetSeconds = 0 }));

    [Fact]
    public void RecipeSettingsAutoIgnoresAreNotRefusedButWhatItUsesIs()
    {
        var recipe = Auto() with { LearningRate = 500, Epochs = -1, Dropout = 3, HiddenUnits = -1, WeightDecay = 9, Momentum = 2,
            EarlyStoppingPatience = -1, StepSchedule = true, StepSize = 0, UnfreezeStages = -3 };
        Assert.Empty(JobRules.Check(recipe));

        var problems = JobRules.Check(recipe with { BatchSize = 0, ImageSize = 8, Seed = -1, Repeats = 11, Backbone = "" });
        Assert.Equal(["backbone", "batchSize", "imageSize", "repeats", "seed"], problems.Select(p => p.Field).Order());
    }

    [Fact]
    public void AugmentationIsRefusedWithAReasonThatNamesAutoMode()
    {
        var problem = Assert.Single(JobRules.Check(Auto() with { Augmentation = new(0.6, 1, 10, 0.2, 0.2, 0.2, 0) }));

        Assert.Equal("augment", problem.Field);
        Assert.StartsWith("Auto mode", problem.Message);
        Assert.DoesNotContain("Feature extraction", problem.Message);
    }
}
