using TransferHub.Worker.Engine.Training;

namespace TransferHub.Worker.Tests.Training;

/// <summary>Which non-finite values count as a divergence, and the message the user reads.</summary>
public sealed class DivergenceDetectionTests
{
    [Theory]
    [InlineData(float.NaN, true, true, 0.5f, 0.5f, "the training loss became NaN")]
    [InlineData(float.PositiveInfinity, true, true, 0.5f, 0.5f, "the training loss became infinite")]
    [InlineData(0.7f, false, false, 0.5f, 0.5f, "the model's weights became NaN or infinite")]
    [InlineData(0.7f, false, true, float.NaN, 0.5f, "the validation loss became NaN")]
    [InlineData(0.7f, false, true, 0.5f, float.NaN, "the validation accuracy became NaN")]
    public void NonFiniteLossesWeightsOrValidationMetricsAreADivergence(float trainLoss, bool stoppedInEpoch, bool weightsFinite,
        float valLoss, float valAccuracy, string expected)
    {
        Assert.Equal(expected, Trainer.Divergence(new TrainPass(trainLoss, 0.4f, stoppedInEpoch), weightsFinite, validated: true, valLoss, valAccuracy));
    }

    [Fact]
    public void FiniteEpochsAndEpochsWithoutValidationOrTrainingBatchesAreNoDivergence()
    {
        Assert.Null(Trainer.Divergence(new TrainPass(0.7f, 0.4f, false), true, validated: true, 0.6f, 0.5f));
        // No validation images: validation metrics are NaN by design.
        Assert.Null(Trainer.Divergence(new TrainPass(0.7f, 0.4f, false), true, validated: false, float.NaN, float.NaN));
        // No batch of two images (BatchNorm): nothing trained, NaN by design.
        Assert.Null(Trainer.Divergence(new TrainPass(float.NaN, float.NaN, false), true, validated: true, 0.6f, 0.5f));
    }

    [Fact]
    public void TheMessageSuggestsTheModesDefaultLearningRateAndMultiplierWhenTheRunUsedLargerOnes()
    {
        var spec = new TrainingSpec { JobId = "j", Items = [], ClassNames = ["a", "b"], Backbone = "b", LearningRate = 0.3f, BackboneLrMultiplier = 10 };
        Assert.Equal("Training diverged in epoch 2: the training loss became NaN. Lower the learning rate (e.g. to 0.001) and the backbone LR " +
            "multiplier (e.g. to 0.1).", Trainer.DivergedMessage(2, "the training loss became NaN", spec, featureExtraction: false));
        Assert.Equal("Training diverged in epoch 1: the validation loss became NaN. Lower the learning rate (e.g. to 0.003).",
            Trainer.DivergedMessage(1, "the validation loss became NaN", spec, featureExtraction: true));
        // Already at or below the default: a tenth of its own.
        Assert.Equal("Training diverged in epoch 3: x. Lower the learning rate (e.g. to 0.0001).",
            Trainer.DivergedMessage(3, "x", spec with { LearningRate = 0.001f, BackboneLrMultiplier = 0.1f }, featureExtraction: false));
    }

    [Fact]
    public void AFiniteTrainingLossFarAboveGuessingIsADivergenceToo()
    {
        // shared/cases QA: learning rate 1 with SGD, multiplier 10: losses 18,779 → 33,708,580, one class for everything.
        var exploded = Trainer.ExplodedLoss(4);
        Assert.Equal(100 * MathF.Log(4), exploded, 3);

        Assert.Equal("the training loss exploded to 3.37E+07 (a model that guesses scores 1.39)",
            Trainer.Divergence(new TrainPass(33_708_580f, 0.25f, false), true, validated: true, 2f, 0.25f, exploded));
        Assert.Null(Trainer.Divergence(new TrainPass(5f, 0.3f, false), true, validated: true, 2f, 0.25f, exploded)); // bad, but learning
    }
}
