using System.Globalization;
using System.Text;

namespace TransferHub.Web.Features.Reports;

/// <summary>
/// The report's tables as CSV: RFC 4180 quoting (a field with a comma, quote or line break is quoted, quotes
/// doubled), invariant-culture numbers written so that they read back exactly, and <c>\n</c> after every record.
/// </summary>
internal static class ReportCsv
{
    public const string MacroLabel = "macro avg";
    public const string WeightedLabel = "weighted avg";

    public static string PerClass(RunReport report)
    {
        var csv = new StringBuilder();
        Record(csv, "class", "precision", "recall", "f1", "support");
        foreach (var row in report.PerClass)
            ClassRow(csv, row.ClassName, row);
        ClassRow(csv, MacroLabel, report.MacroAverage);
        ClassRow(csv, WeightedLabel, report.WeightedAverage);
        return csv.ToString();
    }

    public static string Predictions(RunReport report)
    {
        var csv = new StringBuilder();
        Record(csv, "sha256", "original_name", "true_class", "predicted_class", "confidence", "correct");
        foreach (var p in report.Predictions)
            Record(csv, p.Sha256, p.OriginalName, p.TrueClass, p.PredictedClass, Number(p.Confidence),
                p.TrueClass == p.PredictedClass ? "true" : "false");
        return csv.ToString();
    }

    private static void ClassRow(StringBuilder csv, string label, ReportClassRow row)
    {
        var defined = ReportFormat.Defined(row);
        Record(csv, label, Number(defined.Precision), Number(defined.Recall), Number(defined.F1),
            defined.Support.ToString(CultureInfo.InvariantCulture));
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void Record(StringBuilder csv, params ReadOnlySpan<string> fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
                csv.Append(',');
            Field(csv, fields[i]);
        }
        csv.Append('\n');
    }

    private static void Field(StringBuilder csv, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            csv.Append(value);
            return;
        }
        csv.Append('"').Append(value.Replace("\"", "\"\"")).Append('"');
    }
}
