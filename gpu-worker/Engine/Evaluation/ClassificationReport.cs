using TransferHub.Contracts.Metrics;

namespace TransferHub.Worker.Engine.Evaluation;

public sealed record ClassScore(string ClassName, float Precision, float Recall, float F1, int Support);

public sealed record PredictedImage(string Sha256, int TrueClass, int PredictedClass, float Confidence, float[] Probabilities);

/// <summary>Accuracy, per-class precision/recall/F1, averages and the confusion matrix of one evaluated split.</summary>
public sealed record ClassificationReport(
    float Accuracy,
    float Loss,
    IReadOnlyList<ClassScore> PerClass,
    ClassScore MacroAverage,
    ClassScore WeightedAverage,
    int[][] ConfusionMatrix,
    IReadOnlyList<PredictedImage> Predictions)
{
    /// <summary>Builds the report from each image's class probabilities: the predicted class is the most probable
    /// one, the metrics are <see cref="ClassificationMetrics"/>'s (the web scores ensembles with the same code, see
    /// <see cref="ClassificationMetrics.Conventions"/>). Rows of the confusion matrix are true classes, columns
    /// predicted ones. With no images every number is 0.</summary>
    public static ClassificationReport From(IReadOnlyList<string> classNames, IReadOnlyList<(string Sha256, int TrueClass, float[] Probabilities)> images)
    {
        var k = classNames.Count;
        var predictions = new List<PredictedImage>(images.Count);
        double loss = 0;
        foreach (var (sha, truth, probabilities) in images)
        {
            var predicted = ArgMax(probabilities);
            loss -= Math.Log(Math.Max(probabilities[truth], 1e-12f));
            predictions.Add(new PredictedImage(sha, truth, predicted, probabilities[predicted], probabilities));
        }
        if (predictions.Count == 0)
        {
            var confusion = Enumerable.Range(0, k).Select(_ => new int[k]).ToArray();
            return new ClassificationReport(0, 0, [.. classNames.Select(n => new ClassScore(n, 0, 0, 0, 0))],
                new ClassScore("macro avg", 0, 0, 0, 0), new ClassScore("weighted avg", 0, 0, 0, 0), confusion, predictions);
        }

        var metrics = ClassificationMetrics.ForRun([.. predictions.Select(p => p.TrueClass)], [.. predictions.Select(p => p.PredictedClass)], k);
        return new ClassificationReport((float)metrics.Accuracy, (float)(loss / images.Count),
            [.. metrics.PerClass.Select((row, c) => Score(classNames[c], row))],
            Score("macro avg", metrics.Macro), Score("weighted avg", metrics.Weighted), metrics.Confusion, predictions);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static ClassScore Score(string name, MetricRow row) =>
        new(name, (float)row.Precision, (float)row.Recall, (float)row.F1, row.Support);
}
