namespace TransferHub.Contracts.Metrics;

/// <summary>Precision, recall, F1 and support of one class, or an average of them (then support is the total).</summary>
public sealed record MetricRow(double Precision, double Recall, double F1, int Support);

/// <summary>
/// The one implementation of the classification metrics that runs (computed by the worker) and ensembles (computed by
/// the web) report, so that the same predictions give the same numbers everywhere.
/// </summary>
/// <remarks>
/// <para>The conventions are scikit-learn's documented defaults of
/// <c>sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, labels=None, zero_division=0)</c> and
/// <c>classification_report</c> (https://scikit-learn.org/stable/modules/generated/sklearn.metrics.precision_recall_fscore_support.html):</para>
/// <list type="bullet">
/// <item>precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2·tp / (2·tp + fp + fn); a ratio whose denominator
/// is 0 is 0 (<c>zero_division=0</c>): a class never predicted has precision 0, a class without test images recall 0.</item>
/// <item>Averaged classes (<c>labels=None</c>): every class that occurs in the true classes or the predictions. A class
/// with no test images that the model predicted enters the averages with precision/recall/F1 0; a class that occurs in
/// neither is listed per class (support 0, all 0) but not averaged: it says nothing about the model.
/// Passing <c>labels</c> averages over exactly those classes, as scikit-learn's <c>labels=</c> does.</item>
/// <item>macro = unweighted mean over the averaged classes; weighted = mean weighted by support (0 when the averaged
/// classes have no support at all).</item>
/// <item>accuracy = correct / all images; balanced accuracy = mean recall over the classes that have test images
/// (<c>sklearn.metrics.balanced_accuracy_score</c>).</item>
/// </list>
/// <para>Reference numbers for the tests come from <c>bench/reference/classification_metrics_reference.py</c>.</para>
/// </remarks>
/// <param name="PerClass">One row per class index 0..classCount-1, every class of the job, in order.</param>
/// <param name="AveragedClasses">The class indices that <see cref="Macro"/> and <see cref="Weighted"/> average over, ascending.</param>
/// <param name="Confusion">Rows are true classes, columns predicted classes.</param>
public sealed record ClassificationMetrics(
    int Count,
    double Accuracy,
    double BalancedAccuracy,
    IReadOnlyList<MetricRow> PerClass,
    MetricRow Macro,
    MetricRow Weighted,
    IReadOnlyList<int> AveragedClasses,
    int[][] Confusion)
{
    /// <summary>The conventions of <see cref="ForRun"/> in one sentence, printed by the reports (PDF, evaluation.json).</summary>
    public const string Conventions =
        "Metrics follow scikit-learn's precision_recall_fscore_support with zero_division=0 and labels = all of the run's " +
        "classes: 0/0 counts as 0, macro averages every class of the run unweighted (a class without test images counts as 0), " +
        "weighted weights each class by its test images.";

    /// <summary>The product's metrics for a run or an ensemble: <see cref="Compute"/> with <c>labels</c> = every class
    /// of the run (the dataset's classes the model outputs), so the macro average is the mean of every row of the
    /// per-class table — what the issue tracker's item "one metrics implementation" asks and what the reports state
    /// (<see cref="Conventions"/>).</summary>
    public static ClassificationMetrics ForRun(IReadOnlyList<int> trueClasses, IReadOnlyList<int> predictedClasses, int classCount) =>
        Compute(trueClasses, predictedClasses, classCount, classCount > 0 ? [.. Enumerable.Range(0, classCount)] : null);

    /// <summary>Scores predicted class indices against true ones.</summary>
    /// <param name="trueClasses">Each image's true class index.</param>
    /// <param name="predictedClasses">Each image's predicted class index, in the same order.</param>
    /// <param name="classCount">How many classes the job has: all of them get a per-class row.</param>
    /// <param name="labels">The classes to average over; null: those that occur in either list (scikit-learn's default).</param>
    /// <exception cref="ArgumentException">No images, lists of different lengths, or no classes.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A class index outside 0..classCount-1.</exception>
    public static ClassificationMetrics Compute(IReadOnlyList<int> trueClasses, IReadOnlyList<int> predictedClasses, int classCount,
        IReadOnlyList<int>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(trueClasses);
        ArgumentNullException.ThrowIfNull(predictedClasses);
        if (classCount <= 0)
            throw new ArgumentException("Metrics need at least one class.", nameof(classCount));
        if (trueClasses.Count != predictedClasses.Count)
            throw new ArgumentException(
                $"There are {trueClasses.Count} true classes but {predictedClasses.Count} predictions: one of each per image.",
                nameof(predictedClasses));
        if (trueClasses.Count == 0)
            throw new ArgumentException("Metrics need at least one evaluated image; none was given.", nameof(trueClasses));

        var confusion = new int[classCount][];
        for (var c = 0; c < classCount; c++)
            confusion[c] = new int[classCount];
        for (var i = 0; i < trueClasses.Count; i++)
            confusion[Index(trueClasses[i], classCount, nameof(trueClasses))][Index(predictedClasses[i], classCount, nameof(predictedClasses))]++;

        var perClass = new MetricRow[classCount];
        var predictedAs = new int[classCount];
        for (var c = 0; c < classCount; c++)
        {
            var support = 0;
            for (var p = 0; p < classCount; p++)
            {
                support += confusion[c][p];
                predictedAs[p] += confusion[c][p];
            }
            perClass[c] = new MetricRow(0, 0, 0, support);
        }
        for (var c = 0; c < classCount; c++)
        {
            var tp = confusion[c][c];
            var support = perClass[c].Support;
            var fp = predictedAs[c] - tp;
            var fn = support - tp;
            perClass[c] = new MetricRow(Ratio(tp, tp + fp), Ratio(tp, support), Ratio(2 * tp, 2 * tp + fp + fn), support);
        }

        int[] averaged = labels is null
            ? [.. Enumerable.Range(0, classCount).Where(c => perClass[c].Support > 0 || predictedAs[c] > 0)]
            : [.. labels.Select(c => Index(c, classCount, nameof(labels))).Distinct().Order()];
        if (averaged.Length == 0)
            throw new ArgumentException("Metrics need at least one class to average over.", nameof(labels));
        var rows = averaged.Select(c => perClass[c]).ToList();
        var averagedSupport = rows.Sum(r => r.Support);
        var macro = new MetricRow(rows.Average(r => r.Precision), rows.Average(r => r.Recall), rows.Average(r => r.F1), averagedSupport);
        var weighted = new MetricRow(Weight(rows, r => r.Precision), Weight(rows, r => r.Recall), Weight(rows, r => r.F1), averagedSupport);

        var correct = Enumerable.Range(0, classCount).Sum(c => confusion[c][c]);
        var balanced = perClass.Where(r => r.Support > 0).Average(r => r.Recall);
        return new ClassificationMetrics(trueClasses.Count, (double)correct / trueClasses.Count, balanced, perClass, macro, weighted,
            averaged, confusion);
    }

    private static double Ratio(int numerator, int denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private static double Weight(List<MetricRow> rows, Func<MetricRow, double> value)
    {
        var total = rows.Sum(r => r.Support);
        return total == 0 ? 0 : rows.Sum(r => value(r) * r.Support) / total;
    }

    private static int Index(int value, int classCount, string name) =>
        value >= 0 && value < classCount ? value
            : throw new ArgumentOutOfRangeException(name, value, $"A class index must be between 0 and {classCount - 1}.");
}
