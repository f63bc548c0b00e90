using TransferHub.Contracts.Metrics;

namespace TransferHub.Contracts.Tests.Metrics;

/// <summary>Every expected number below is scikit-learn 1.2.1's, printed by
/// bench/reference/classification_metrics_reference.py (precision_recall_fscore_support with zero_division=0,
/// accuracy_score, balanced_accuracy_score), case by case.</summary>
public sealed class ClassificationMetricsTests
{
    private const double Tolerance = 1e-12;

    [Fact]
    public void AClassWithoutTestImagesThatWasPredictedCountsAsZeroInTheMacroAverageLikeScikitLearn()
    {
        // class-without-train-images.zip, classes [cyan, down, red, up]: red ×3 all right, up ×3 all called down
        // (down has one training image and no test image; cyan is in neither list). scikit-learn: macro F1 1/3;
        // the worker used to average over classes with test images only and said 0.5.
        var m = ClassificationMetrics.Compute([2, 2, 2, 3, 3, 3], [2, 2, 2, 1, 1, 1], classCount: 4);

        Assert.Equal([1, 2, 3], m.AveragedClasses);
        AssertRow(new MetricRow(1 / 3.0, 1 / 3.0, 1 / 3.0, 6), m.Macro);
        AssertRow(new MetricRow(0.5, 0.5, 0.5, 6), m.Weighted);
        Assert.Equal(0.5, m.Accuracy, Tolerance);
        Assert.Equal(0.5, m.BalancedAccuracy, Tolerance);
        Assert.Equal(
            [new MetricRow(0, 0, 0, 0), new MetricRow(0, 0, 0, 0), new MetricRow(1, 1, 1, 3), new MetricRow(0, 0, 0, 3)],
            m.PerClass);
        Assert.Equal([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 3, 0], [0, 3, 0, 0]], m.Confusion);
    }

    [Fact]
    public void ListingEveryClassAveragesOverEveryClassIncludingOnesWithNoTestImagesAtAll()
    {
        // The same run with labels=[0, 1, 2, 3]: cyan (support 0, never predicted) now enters the macro average as 0.
        var m = ClassificationMetrics.Compute([2, 2, 2, 3, 3, 3], [2, 2, 2, 1, 1, 1], classCount: 4, labels: [0, 1, 2, 3]);

        Assert.Equal([0, 1, 2, 3], m.AveragedClasses);
        AssertRow(new MetricRow(0.25, 0.25, 0.25, 6), m.Macro);
        AssertRow(new MetricRow(0.5, 0.5, 0.5, 6), m.Weighted);
    }

    [Fact]
    public void AHandWorkedConfusionMatrixGivesScikitLearnsNumbers()
    {
        // 3 cats (2 right, 1 called dog), 2 dogs (both right), 1 bird (called cat).
        var m = ClassificationMetrics.Compute([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0], classCount: 3);

        AssertRow(new MetricRow(2 / 3.0, 2 / 3.0, 2 / 3.0, 3), m.PerClass[0]);
        AssertRow(new MetricRow(2 / 3.0, 1, 0.8, 2), m.PerClass[1]);
        AssertRow(new MetricRow(0, 0, 0, 1), m.PerClass[2]); // never predicted: precision 0/0 = 0, not NaN
        AssertRow(new MetricRow(0.4444444444444444, 0.5555555555555555, 0.48888888888888893, 6), m.Macro);
        AssertRow(new MetricRow(0.5555555555555555, 0.6666666666666666, 0.6, 6), m.Weighted);
        Assert.Equal(0.6666666666666666, m.Accuracy, Tolerance);
        Assert.Equal(0.5555555555555555, m.BalancedAccuracy, Tolerance);
    }

    [Fact]
    public void UnevenSupportsAndAPredictedOnlyClassGiveScikitLearnsNumbers()
    {
        int[] truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3];
        int[] predicted = [0, 0, 1, 4, 1, 1, 0, 2, 2, 2, 1, 0, 2, 0];

        var m = ClassificationMetrics.Compute(truth, predicted, classCount: 5);

        double[] precision = [0.4, 0.5, 0.75, 0.0, 0.0];
        double[] recall = [0.5, 0.6666666666666666, 0.6, 0.0, 0.0];
        double[] f1 = [0.4444444444444445, 0.5714285714285715, 0.6666666666666665, 0.0, 0.0];
        int[] support = [4, 3, 5, 2, 0];
        for (var c = 0; c < 5; c++)
            AssertRow(new MetricRow(precision[c], recall[c], f1[c], support[c]), m.PerClass[c]);
        AssertRow(new MetricRow(0.32999999999999996, 0.35333333333333333, 0.33650793650793653, 14), m.Macro);
        AssertRow(new MetricRow(0.48928571428571427, 0.5, 0.4875283446712017, 14), m.Weighted);
        Assert.Equal(0.5, m.Accuracy, Tolerance);
        Assert.Equal(0.44166666666666665, m.BalancedAccuracy, Tolerance);
    }

    [Fact]
    public void AllCorrectIsOneEverywhereEvenWhenAClassHasNoTestImages()
    {
        var m = ClassificationMetrics.Compute([0, 1, 2, 2, 1, 0, 3], [0, 1, 2, 2, 1, 0, 3], classCount: 5);

        AssertRow(new MetricRow(1, 1, 1, 7), m.Macro);
        AssertRow(new MetricRow(1, 1, 1, 7), m.Weighted);
        Assert.Equal((1.0, 1.0), (m.Accuracy, m.BalancedAccuracy));
        Assert.Equal(new MetricRow(0, 0, 0, 0), m.PerClass[4]);
        Assert.Equal([0, 1, 2, 3], m.AveragedClasses);
    }

    [Fact]
    public void UnusableInputIsRefusedWithAClearMessage()
    {
        var empty = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([], [], classCount: 3));
        Assert.Contains("at least one evaluated image", empty.Message);
        var mismatched = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0, 1], [0], classCount: 2));
        Assert.Contains("2 true classes but 1 predictions", mismatched.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.Compute([0, 2], [0, 1], classCount: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.Compute([0, 1], [0, -1], classCount: 2));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0], [0], classCount: 0));
    }

    [Fact]
    public void TheConventionsSentenceNamesTheRulesItStands()
    {
        Assert.Contains("zero_division=0", ClassificationMetrics.Conventions);
        Assert.Contains("labels = all of the run's classes", ClassificationMetrics.Conventions);
        Assert.Contains("weighted", ClassificationMetrics.Conventions);
        Assert.Single(ClassificationMetrics.Conventions.Split(". "));
    }

    private static void AssertRow(MetricRow expected, MetricRow actual)
    {
        Assert.Equal(expected.Precision, actual.Precision, Tolerance);
        Assert.Equal(expected.Recall, actual.Recall, Tolerance);
        Assert.Equal(expected.F1, actual.F1, Tolerance);
        Assert.Equal(expected.Support, actual.Support);
    }
}
