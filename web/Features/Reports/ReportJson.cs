using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Web.Features.Reports;

/// <summary>
/// The report as JSON: every field of <see cref="RunReport"/> in declaration order, camelCase, nulls written, times
/// as ISO 8601 UTC ("Z"), hyperparameters as an ordered list of name/value pairs, thumbnails as their captions only,
/// and <c>metricsConventions</c>: how the per-class metrics and their averages are computed (one sentence); for auto runs
/// <c>leaderboard</c> (winner, winnerReason, candidates best first, skipped), null for other runs; <c>findings</c>: the
/// training doctor's findings (rule, severity, title, evidence, numbers, advice), worst first, empty when none;
/// <c>calibration</c> (temperature, what it was fitted on, ECE and reliability bins before and after, the "unknown"
/// threshold, its target precision and coverage), null for ensembles and runs trained before calibration existed.
/// <see cref="SchemaVersion"/> changes only when a field is removed or changes meaning; fields may be added.
/// </summary>
internal static class ReportJson
{
    public const int SchemaVersion = 1;

    internal static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NewLine = "\n",
        // A diverged run's loss is NaN: written as the string "NaN" rather than failing the whole report.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Served as a file download, never embedded in HTML: class names stay readable ("dog, large", "→").
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(RunReport report) => JsonSerializer.Serialize(Document.From(report), Options);

    internal sealed record Document(
        int SchemaVersion,
        string Title, string TeamName, string ProjectName, string DatasetName, string DatasetVersion,
        DateTime CreatedAtUtc, DateTime? FinishedAtUtc, double TrainingSeconds,
        string EvaluatedSplit,
        double Accuracy, double Loss, int BestEpoch, bool StoppedEarly,
        IReadOnlyList<Hyperparameter> Hyperparameters,
        IReadOnlyList<ReportEpoch> Epochs,
        IReadOnlyList<string> ClassNames,
        IReadOnlyList<ReportClassRow> PerClass, ReportClassRow MacroAverage, ReportClassRow WeightedAverage,
        string MetricsConventions,
        int[][] Confusion,
        IReadOnlyList<Prediction> Predictions,
        IReadOnlyList<Thumbnail> Misclassified,
        ReportLeaderboard? Leaderboard,
        IReadOnlyList<ReportFinding> Findings,
        ReportCalibration? Calibration)
    {
        public static Document From(RunReport r) => new(
            ReportJson.SchemaVersion,
            r.Title, r.TeamName, r.ProjectName, r.DatasetName, r.DatasetVersion,
            ReportFormat.AsUtc(r.CreatedAtUtc), r.FinishedAtUtc is { } finished ? ReportFormat.AsUtc(finished) : null, r.TrainingSeconds,
            r.EvaluatedSplit,
            r.Accuracy, r.Loss, r.BestEpoch, r.StoppedEarly,
            [.. r.Hyperparameters.Select(h => new Hyperparameter(h.Key, h.Value))],
            r.Epochs,
            r.ClassNames,
            [.. r.PerClass.Select(ReportFormat.Defined)], ReportFormat.Defined(r.MacroAverage), ReportFormat.Defined(r.WeightedAverage),
            ClassificationMetrics.Conventions,
            r.Confusion,
            [.. r.Predictions.Select(p => new Prediction(p.Sha256, p.OriginalName, p.TrueClass, p.PredictedClass,
                p.Confidence, p.TrueClass == p.PredictedClass))],
            [.. r.Misclassified.Select(t => new Thumbnail(t.Caption))],
            r.Leaderboard,
            r.Findings ?? [],
            r.Calibration);
    }

    internal sealed record Hyperparameter(string Name, string Value);

    internal sealed record Prediction(string Sha256, string OriginalName, string TrueClass, string PredictedClass,
        double Confidence, bool Correct);

    internal sealed record Thumbnail(string Caption);
}
