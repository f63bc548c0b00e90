namespace TransferHub.Web.Features.Reports;

/// <summary>
/// The report's tables as CSV, written by <see cref="SafeCsv"/>: RFC 4180 quoting, text cells that start with a
/// formula character prefixed with <c>'</c> (OWASP), invariant-culture numbers written so that they read back exactly,
/// and <c>\n</c> after every record.
/// </summary>
internal static class ReportCsv
{
    public const string MacroLabel = "macro avg";
    public const string WeightedLabel = "weighted avg";

    public static string PerClass(RunReport report)
    {
        var csv = new SafeCsv().Record("class", "precision", "recall", "f1", "support", "evaluated_split");
        foreach (var row in report.PerClass)
            ClassRow(csv, row.ClassName, row, report.EvaluatedSplit);
        ClassRow(csv, MacroLabel, report.MacroAverage, report.EvaluatedSplit);
        ClassRow(csv, WeightedLabel, report.WeightedAverage, report.EvaluatedSplit);
        return csv.ToString();
    }

    public static string Predictions(RunReport report)
    {
        var csv = new SafeCsv().Record("sha256", "original_name", "true_class", "predicted_class", "confidence", "correct", "split");
        foreach (var p in report.Predictions)
            csv.Record(p.Sha256, p.OriginalName, p.TrueClass, p.PredictedClass, CsvCell.Number(p.Confidence),
                p.TrueClass == p.PredictedClass ? "true" : "false", report.EvaluatedSplit);
        return csv.ToString();
    }

    /// <summary>An auto run's leaderboard, best first; <c>winner</c> is true on the chosen candidate's row.</summary>
    public static string Leaderboard(ReportLeaderboard board)
    {
        var csv = new SafeCsv().Record("rank", "candidate", "params", "metric", "cv_mean", "ci_low", "ci_high", "macro_f1", "folds", "seconds", "winner");
        foreach (var c in board.Candidates)
            csv.Record(CsvCell.Number(c.Rank), c.Name, c.Params, c.Metric, CsvCell.Number(c.CvMean), CsvCell.Number(c.CiLow), CsvCell.Number(c.CiHigh),
                CsvCell.Number(c.MacroF1), CsvCell.Number(c.Folds), CsvCell.Number(c.Seconds), c.Name == board.Winner ? "true" : "false");
        return csv.ToString();
    }

    private static void ClassRow(SafeCsv csv, string label, ReportClassRow row, string split)
    {
        var defined = ReportFormat.Defined(row);
        csv.Record(label, CsvCell.Number(defined.Precision), CsvCell.Number(defined.Recall), CsvCell.Number(defined.F1),
            CsvCell.Number(defined.Support), split);
    }
}
