using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The launch form's and the API's warning for a learning rate far above what runs use (a QA walk-through
/// launched LR 10 without a word and watched the run diverge).</summary>
public sealed class LearningRateWarningTests
{
    [Theory]
    [InlineData(TrainingMode.FineTune, OptimizerChoice.Adam, 0.02, false)]   // at the limit: quiet
    [InlineData(TrainingMode.FineTune, OptimizerChoice.Adam, 0.05, true)]    // swung 80 % → 41 % in a walk-through
    [InlineData(TrainingMode.FeatureExtraction, OptimizerChoice.AdamW, 10, true)]
    [InlineData(TrainingMode.FineTune, OptimizerChoice.SgdMomentum, 0.1, false)] // SGD takes rates Adam cannot
    [InlineData(TrainingMode.FineTune, OptimizerChoice.SgdMomentum, 0.5, false)]
    [InlineData(TrainingMode.FineTune, OptimizerChoice.SgdMomentum, 0.6, true)]
    [InlineData(TrainingMode.Auto, OptimizerChoice.Adam, 10, false)]          // auto chooses its own
    public void WarnsOnlyAboveTheOptimizersUsualRange(TrainingMode mode, OptimizerChoice optimizer, double learningRate, bool warns)
    {
        var settings = JobSettings.ForMode(mode, "resnet18x3-imagenet");
        settings.Optimizer = optimizer;
        settings.LearningRate = learningRate;

        Assert.Equal(warns, settings.LearningRateWarning() is not null);
    }

    [Fact]
    public void TheDefaultsOfEveryModeDrawNoWarning()
    {
        foreach (var mode in Enum.GetValues<TrainingMode>())
            Assert.Null(JobSettings.ForMode(mode, "resnet18x3-imagenet").LearningRateWarning());
    }
}
