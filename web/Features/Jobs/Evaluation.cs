using System.Text.Json;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Jobs;

public sealed record ClassScore(string ClassName, double Precision, double Recall, double F1, int Support);

/// <summary>One evaluated image: its true and predicted class (indices into the run's classes) and the model's
/// probabilities for every class.</summary>
public sealed record ImageVerdict(string Sha256, int TrueClass, int PredictedClass, double Confidence, float[] Probabilities)
{
    public bool Correct => TrueClass == PredictedClass;
}

/// <summary>A run's evaluation on its held-out split, as stored with the job (JSON) and shown on the evaluation page.</summary>
public sealed record Evaluation(
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

    public static Evaluation FromJson(string json) =>
        JsonSerializer.Deserialize<Evaluation>(json, Json) ?? throw new InvalidDataException("Empty evaluation.");

    /// <summary>What the worker reported when a job completed.</summary>
    public static Evaluation FromWorker(JobCompleted completed, IReadOnlyList<string> classNames) => new(
        SplitName(completed.EvaluatedSplit),
        completed.Accuracy,
        completed.Loss,
        classNames,
        [.. completed.PerClass.Select(Score)],
        Score(completed.MacroAverage ?? new ClassMetrics { ClassName = "macro avg" }),
        Score(completed.WeightedAverage ?? new ClassMetrics { ClassName = "weighted avg" }),
        [.. completed.ConfusionMatrix.Select(r => r.Counts.ToArray())],
        [.. completed.Predictions.Select(p => new ImageVerdict(p.Sha256, p.TrueClass, p.PredictedClass, p.Confidence, [.. p.Probabilities]))]);

    /// <summary>Scores predictions made here (an ensemble's averaged probabilities): the predicted class is the most
    /// probable one; loss is the mean negative log-probability of the true class.</summary>
    public static Evaluation Compute(string split, IReadOnlyList<string> classNames, IReadOnlyList<(string Sha256, int TrueClass, float[] Probabilities)> images)
    {
        var n = classNames.Count;
        var confusion = Enumerable.Range(0, n).Select(_ => new int[n]).ToArray();
        var verdicts = new List<ImageVerdict>(images.Count);
        double loss = 0;
        foreach (var (sha, truth, probabilities) in images)
        {
            var predicted = 0;
            for (var c = 1; c < n; c++)
                if (probabilities[c] > probabilities[predicted]) predicted = c;
            confusion[truth][predicted]++;
            loss -= Math.Log(Math.Max(probabilities[truth], 1e-12));
            verdicts.Add(new ImageVerdict(sha, truth, predicted, probabilities[predicted], probabilities));
        }
        var perClass = Enumerable.Range(0, n).Select(c =>
        {
            var truePositives = confusion[c][c];
            var support = confusion[c].Sum();
            var predictedAs = confusion.Sum(row => row[c]);
            var precision = predictedAs == 0 ? 0 : (double)truePositives / predictedAs;
            var recall = support == 0 ? 0 : (double)truePositives / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            return new ClassScore(classNames[c], precision, recall, f1, support);
        }).ToList();
        var total = images.Count;
        var macro = new ClassScore("macro avg", perClass.Average(s => s.Precision), perClass.Average(s => s.Recall), perClass.Average(s => s.F1), total);
        var weighted = total == 0 ? macro with { ClassName = "weighted avg" } : new ClassScore("weighted avg",
            perClass.Sum(s => s.Precision * s.Support) / total, perClass.Sum(s => s.Recall * s.Support) / total,
            perClass.Sum(s => s.F1 * s.Support) / total, total);
        var correct = Enumerable.Range(0, n).Sum(c => confusion[c][c]);
        return new Evaluation(split, total == 0 ? 0 : (double)correct / total, total == 0 ? 0 : loss / total, classNames, perClass, macro, weighted,
            confusion, verdicts);
    }

    public static string SplitName(Split split) => split switch
    {
        Worker.V1.Split.Test => "test",
        Worker.V1.Split.Val => "val",
        Worker.V1.Split.Train => "train",
        _ => "unknown",
    };

    private static ClassScore Score(ClassMetrics m) => new(m.ClassName, m.Precision, m.Recall, m.F1, m.Support);
}
