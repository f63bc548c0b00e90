using System.Text.Json;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Web.Features.Jobs;

public sealed record ClassScore(string ClassName, double Precision, double Recall, double F1, int Support);

/// <summary>One evaluated image: its true and predicted class (indices into the run's classes) and the model's
/// probabilities for every class.</summary>
public sealed record ImageVerdict(string Sha256, int TrueClass, int PredictedClass, double Confidence, float[] Probabilities)
{
    public bool Correct => TrueClass == PredictedClass;
}

/// <summary>A run's evaluation on its held-out split, as stored with the job (JSON) and shown on the evaluation page.</summary>
public sealed record RunEvaluation(
    string Split,
    double Accuracy,
    double Loss,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<ClassScore> PerClass,
    ClassScore Macro,
    ClassScore Weighted,
    int[][] Confusion,
    IReadOnlyList<ImageVerdict> Predictions)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunEvaluation FromJson(string json) =>
        JsonSerializer.Deserialize<RunEvaluation>(json, Json) ?? throw new InvalidDataException("Empty evaluation.");

    /// <summary>Scores predictions made here (an ensemble's averaged probabilities): the predicted class is the most
    /// probable one; loss is the mean negative log-probability of the true class; the metrics are
    /// <see cref="ClassificationMetrics"/>'s, the same code the worker scores runs with.</summary>
    /// <exception cref="ArgumentException">No images.</exception>
    public static RunEvaluation Compute(string split, IReadOnlyList<string> classNames, IReadOnlyList<(string Sha256, int TrueClass, float[] Probabilities)> images)
    {
        var n = classNames.Count;
        var verdicts = new List<ImageVerdict>(images.Count);
        double loss = 0;
        foreach (var (sha, truth, probabilities) in images)
        {
            var predicted = 0;
            for (var c = 1; c < n; c++)
                if (probabilities[c] > probabilities[predicted]) predicted = c;
            loss -= Math.Log(Math.Max(probabilities[truth], 1e-12));
            verdicts.Add(new ImageVerdict(sha, truth, predicted, probabilities[predicted], probabilities));
        }
        var metrics = ClassificationMetrics.ForRun([.. verdicts.Select(v => v.TrueClass)], [.. verdicts.Select(v => v.PredictedClass)], n);
        return new RunEvaluation(split, metrics.Accuracy, loss / images.Count, classNames,
            [.. metrics.PerClass.Select((row, c) => Score(classNames[c], row))], Score("macro avg", metrics.Macro),
            Score("weighted avg", metrics.Weighted), metrics.Confusion, verdicts);
    }

    private static ClassScore Score(string name, MetricRow row) => new(name, row.Precision, row.Recall, row.F1, row.Support);
}
