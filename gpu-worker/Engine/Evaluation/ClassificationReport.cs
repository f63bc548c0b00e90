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
    /// <summary>Builds the report from each image's class probabilities. Rows of the confusion matrix are true
    /// classes, columns predicted ones. A class never predicted has precision 0 (as scikit-learn's zero_division=0).</summary>
    public static ClassificationReport From(IReadOnlyList<string> classNames, IReadOnlyList<(string Sha256, int TrueClass, float[] Probabilities)> images)
    {
        var k = classNames.Count;
        var confusion = new int[k][];
        for (var i = 0; i < k; i++) confusion[i] = new int[k];
        var predictions = new List<PredictedImage>(images.Count);
        double loss = 0;
        foreach (var (sha, truth, probabilities) in images)
        {
            var predicted = ArgMax(probabilities);
            confusion[truth][predicted]++;
            loss -= Math.Log(Math.Max(probabilities[truth], 1e-12f));
            predictions.Add(new PredictedImage(sha, truth, predicted, probabilities[predicted], probabilities));
        }

        var perClass = new List<ClassScore>(k);
        for (var c = 0; c < k; c++)
        {
            var tp = confusion[c][c];
            var support = confusion[c].Sum();
            var predictedAs = Enumerable.Range(0, k).Sum(r => confusion[r][c]);
            var precision = predictedAs == 0 ? 0f : (float)tp / predictedAs;
            var recall = support == 0 ? 0f : (float)tp / support;
            var f1 = precision + recall == 0 ? 0f : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassScore(classNames[c], precision, recall, f1, support));
        }

        var total = images.Count;
        var correct = Enumerable.Range(0, k).Sum(c => confusion[c][c]);
        var present = perClass.Where(s => s.Support > 0).ToList();
        var macro = new ClassScore("macro avg",
            Mean(present, s => s.Precision), Mean(present, s => s.Recall), Mean(present, s => s.F1), total);
        var weighted = new ClassScore("weighted avg",
            Weighted(perClass, s => s.Precision, total), Weighted(perClass, s => s.Recall, total), Weighted(perClass, s => s.F1, total), total);
        return new ClassificationReport(total == 0 ? 0 : (float)correct / total, total == 0 ? 0 : (float)(loss / total),
            perClass, macro, weighted, confusion, predictions);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static float Mean(List<ClassScore> scores, Func<ClassScore, float> value) =>
        scores.Count == 0 ? 0 : scores.Average(value);

    private static float Weighted(List<ClassScore> scores, Func<ClassScore, float> value, int total) =>
        total == 0 ? 0 : scores.Sum(s => value(s) * s.Support) / total;
}
