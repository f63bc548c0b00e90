using System.Globalization;

namespace TransferHub.Web.Features.Reports;

/// <summary>The report's value rules shared by all outputs (0/0 metrics, UTC times) and how the PDF writes numbers,
/// times and names for people; always in the invariant culture.</summary>
internal static class ReportFormat
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private const int ShortHashLength = 12;
    public const string NotANumber = "n/a";

    /// <summary>A per-class metric with the 0/0 convention of scikit-learn's <c>zero_division=0</c>: not a number is 0.</summary>
    public static double Defined(double metric) => double.IsFinite(metric) ? metric : 0;

    /// <summary>The row with every metric <see cref="Defined"/>.</summary>
    public static ReportClassRow Defined(ReportClassRow row) =>
        row with { Precision = Defined(row.Precision), Recall = Defined(row.Recall), F1 = Defined(row.F1) };

    /// <summary>A fraction as a percentage with one decimal: 0.9166 → "91.7%".</summary>
    public static string Percent(double fraction) =>
        double.IsFinite(fraction) ? (fraction * 100).ToString("0.0", Invariant) + "%" : NotANumber;

    /// <summary>Precision, recall or F1 with three decimals.</summary>
    public static string Metric(double value) => Defined(value).ToString("0.000", Invariant);

    public static string Loss(double value) => double.IsFinite(value) ? value.ToString("0.0000", Invariant) : NotANumber;

    public static string Count(int value) => value.ToString("#,0", Invariant);

    public static string Utc(DateTime value) => AsUtc(value).ToString("yyyy-MM-dd HH:mm:ss", Invariant) + " UTC";

    /// <summary>The value as UTC. The database hands back <see cref="DateTimeKind.Unspecified"/>; the report's times
    /// are UTC by contract, so that kind is taken to be UTC (a local time is converted).</summary>
    public static DateTime AsUtc(DateTime value) =>
        value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);

    /// <summary>"42.3 s", "3 min 07 s", "2 h 05 min 09 s".</summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
            return NotANumber;
        if (seconds < 60)
            return seconds.ToString("0.0", Invariant) + " s";
        var time = TimeSpan.FromSeconds(Math.Round(seconds));
        return time.TotalHours >= 1
            ? string.Create(Invariant, $"{(int)time.TotalHours} h {time.Minutes:00} min {time.Seconds:00} s")
            : string.Create(Invariant, $"{time.Minutes} min {time.Seconds:00} s");
    }

    /// <summary>The first characters of a content hash and an ellipsis; the full hash is printed beside it.</summary>
    public static string ShortHash(string hash) =>
        hash.Length <= ShortHashLength ? hash : hash[..ShortHashLength] + "…";

    /// <summary>"test", "validation" (for "val"), "training" (for "train"), or the name as given.</summary>
    public static string SplitName(string split) => split switch
    {
        "val" => "validation",
        "train" => "training",
        _ => split,
    };

    /// <summary>"test split", "validation split".</summary>
    public static string Split(string split) => $"{SplitName(split)} split";
}
