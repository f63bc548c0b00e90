using TransferHub.Worker.Engine.Training;

namespace TransferHub.Worker.Tests.Training;

public sealed class LearningRateRangeTestTests
{
    [Fact]
    public void TheScheduleRisesExponentiallyFromStartToEnd()
    {
        var test = new LearningRateRangeTest(1e-6, 1, steps: 7);
        Assert.Equal(1e-6, test.LearningRate(0), 12);
        Assert.Equal(1e-5, test.LearningRate(1), 12);
        Assert.Equal(1.0, test.LearningRate(6), 9);
    }

    [Fact]
    public void ItStopsWhenTheSmoothedLossExceedsFourTimesItsMinimumOrALossIsNotFinite()
    {
        var test = new LearningRateRangeTest(1e-6, 1, steps: 50, smoothing: 0);
        Assert.True(test.Record(2.0));
        Assert.True(test.Record(1.0));
        Assert.True(test.Record(3.9));
        Assert.False(test.Record(4.1));
        Assert.Equal(4, test.Points.Count);

        var nan = new LearningRateRangeTest(1e-6, 1, steps: 50);
        Assert.True(nan.Record(1));
        Assert.False(nan.Record(double.NaN));
        Assert.Single(nan.Points);
    }

    [Fact]
    public void TheSmoothedLossIsTheDebiasedMovingAverage()
    {
        var test = new LearningRateRangeTest(1e-6, 1, steps: 10, smoothing: 0.5);
        test.Record(4);
        test.Record(2);
        // avg1 = 0.5·4 = 2 → 2/(1−0.5) = 4; avg2 = 0.5·2 + 0.5·2 = 2 → 2/(1−0.25) = 2.667
        Assert.Equal(4, test.Points[0].SmoothedLoss, 9);
        Assert.Equal(8.0 / 3, test.Points[1].SmoothedLoss, 9);
    }

    [Fact]
    public void TheSuggestionIsTheSmallerOfTheValleyAndATenthOfTheMinimumAndTheSteepestDescentIsFound()
    {
        // A valley: flat, then falling fastest around 1e-3, lowest at 1e-1, then exploding.
        var test = new LearningRateRangeTest(1e-6, 10, steps: 8, smoothing: 0);
        double[] losses = [2.0, 1.99, 1.9, 1.0, 0.7, 0.5, 3.0, 9.0];
        foreach (var loss in losses) if (!test.Record(loss)) break;
        var suggestion = test.Suggest();
        Assert.Equal(1e-1, suggestion.Minimum, 9);
        // The longest falling stretch is steps 0–5; halfway through its middle third is step 2 (1e-4), below 1e-1 / 10.
        Assert.Equal(1e-4, suggestion.Suggested, 12);
        Assert.Equal(1e-3, suggestion.Steepest, 9);
        Assert.Contains("Suggested: 1.0e-4", suggestion.Explanation);
    }

    [Fact]
    public void ALossStillFallingAtTheEndOfTheRangeSuggestsTheValleyNotATenthOfTheLargestRate()
    {
        // What a linear head with Adam on cached features shows: the training loss keeps falling up to the largest rates.
        var test = new LearningRateRangeTest(1e-7, 10, steps: 50, smoothing: 0.9);
        for (var i = 0; i < 50; i++) test.Record(2.0 / (1 + Math.Exp(3 * (Math.Log10(test.LearningRate(i)) + 2))) + 0.01);
        var suggestion = test.Suggest();
        Assert.Equal(10, suggestion.Minimum, 6);
        Assert.True(suggestion.Suggested < 0.1, $"suggested {suggestion.Suggested}");
        Assert.Contains("still falling at the end", suggestion.Explanation);
    }
}
