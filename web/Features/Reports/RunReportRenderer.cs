using TransferHub.Web.Features.Reports.Pdf;

namespace TransferHub.Web.Features.Reports;

/// <summary>
/// Renders a finished run's evaluation report: a PDF for people, CSV tables and JSON for other tools.
/// A static class on purpose: rendering is a pure function of the <see cref="RunReport"/> (no options, services or
/// state; nothing to register), safe to call from many requests at once. The only environment it needs is a
/// TrueType font (the PDF prefers DejaVu Sans, which Debian's fontconfig brings along).
/// </summary>
public static class RunReportRenderer
{
    /// <summary>A4 portrait PDF with vector text: summary and hyperparameters, training curves (for an auto run: model
    /// selection, its leaderboard), per-class metrics,
    /// confusion matrix, misclassified images (when any); every page has the footer "TransferHub · title" and
    /// "Page i of n".</summary>
    public static byte[] Pdf(RunReport report) => ReportPdf.Render(report);

    /// <summary><c>class,precision,recall,f1,support,evaluated_split</c>, one row per class, then <c>macro avg</c> and
    /// <c>weighted avg</c>; RFC 4180 quoting, invariant numbers that read back exactly, <c>\n</c> line ends.</summary>
    public static string PerClassCsv(RunReport report) => ReportCsv.PerClass(report);

    /// <summary><c>sha256,original_name,true_class,predicted_class,confidence,correct,split</c>, one row per evaluated
    /// image (<c>correct</c> is <c>true</c> or <c>false</c>; <c>split</c> the one evaluated: test, val or train); the
    /// same CSV rules as <see cref="PerClassCsv"/>.</summary>
    public static string PredictionsCsv(RunReport report) => ReportCsv.Predictions(report);

    /// <summary><c>rank,candidate,params,metric,cv_mean,ci_low,ci_high,macro_f1,folds,seconds,winner</c>: an auto run's
    /// leaderboard, best first (cross-validated on train + val); the same CSV rules as <see cref="PerClassCsv"/>.</summary>
    /// <exception cref="ArgumentException">The run did not choose its classifier (not an auto run).</exception>
    public static string LeaderboardCsv(RunReport report) => ReportCsv.Leaderboard(report.Leaderboard
        ?? throw new ArgumentException("Only an auto run has a leaderboard.", nameof(report)));

    /// <summary>Every field of the report, camelCase, in a stable order, except the thumbnails' bytes (their captions
    /// are kept); see <see cref="ReportJson"/>.</summary>
    public static string Json(RunReport report) => ReportJson.Write(report);
}
