using TransferHub.Contracts.Metrics;
using TransferHub.Worker.Engine.Evaluation;

namespace TransferHub.Worker.Tests.Evaluation;

public sealed class ClassificationReportTests
{
    private static float[] Sure(int predicted, int classCount) =>
        [.. Enumerable.Range(0, classCount).Select(c => c == predicted ? 0.9f : 0.1f / (classCount - 1))];

    [Fact]
    public void TheMacroAverageIsScikitLearnsWithEveryClassOfTheRunAsLabels()
    {
        // class-without-train-images.zip: red ×3 right, up ×3 called down. scikit-learn with labels=[0, 1, 2, 3] gives
        // macro F1 0.25 (bench/reference/classification_metrics_reference.py); the worker used to report 0.5 (it
        // averaged only classes with test images).
        string[] classes = ["cyan", "down", "red", "up"];
        var images = new (string, int, float[])[]
        {
            ("r1", 2, Sure(2, 4)), ("r2", 2, Sure(2, 4)), ("r3", 2, Sure(2, 4)),
            ("u1", 3, Sure(1, 4)), ("u2", 3, Sure(1, 4)), ("u3", 3, Sure(1, 4)),
        };

        var report = ClassificationReport.From(classes, images);

        Assert.Equal(0.25f, report.MacroAverage.F1, 6);
        Assert.Equal(0.25f, report.MacroAverage.Precision, 6);
        Assert.Equal(0.5f, report.WeightedAverage.F1, 6);
        Assert.Equal(0.5f, report.Accuracy, 6);
        Assert.Equal(["cyan", "down", "red", "up"], report.PerClass.Select(s => s.ClassName));
        Assert.Equal([0, 0, 3, 3], report.PerClass.Select(s => s.Support));
        Assert.Equal([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 3, 0], [0, 3, 0, 0]], report.ConfusionMatrix);
    }

    [Fact]
    public void TheReportCarriesExactlyTheSharedMetrics()
    {
        string[] classes = ["cat", "dog", "bird"];
        var images = new (string, int, float[])[]
        {
            ("a", 0, Sure(0, 3)), ("b", 0, Sure(0, 3)), ("c", 0, Sure(1, 3)), ("d", 1, Sure(1, 3)), ("e", 1, Sure(1, 3)), ("f", 2, Sure(0, 3)),
        };

        var report = ClassificationReport.From(classes, images);
        var shared = ClassificationMetrics.ForRun([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0], 3);

        Assert.Equal(shared.PerClass.Select(r => ((float)r.Precision, (float)r.Recall, (float)r.F1, r.Support)),
            report.PerClass.Select(s => (s.Precision, s.Recall, s.F1, s.Support)));
        Assert.Equal(((float)shared.Macro.F1, (float)shared.Weighted.F1), (report.MacroAverage.F1, report.WeightedAverage.F1));
        Assert.Equal(-(4 * Math.Log(0.9) + 2 * Math.Log(0.05)) / 6, report.Loss, 5);
    }

    [Fact]
    public void NoImagesGiveZerosRatherThanFailingTheRun()
    {
        var report = ClassificationReport.From(["a", "b"], []);

        Assert.Equal((0f, 0f, 0f), (report.Accuracy, report.MacroAverage.F1, report.WeightedAverage.F1));
        Assert.Equal([0, 0], report.PerClass.Select(s => s.Support));
    }
}
