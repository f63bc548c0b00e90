namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>Axis ranges and ticks on "nice" numbers (1, 2 or 5 times a power of ten), as in Heckbert's
/// "Nice numbers for graph labels" (Graphics Gems, 1990).</summary>
internal static class NiceScale
{
    /// <summary>A range covering [min, max] whose ends are multiples of a nice step, with at most about
    /// <paramref name="maxTicks"/> ticks. An empty range (min = max) is widened around its value.</summary>
    public static (double Min, double Max, double Step) For(double min, double max, int maxTicks)
    {
        if (max < min)
            (min, max) = (max, min);
        if (max - min < 1e-12)
        {
            var half = Math.Abs(min) > 1e-12 ? Math.Abs(min) * 0.1 : 0.5;
            (min, max) = (min - half, max + half);
        }
        var step = Nice((max - min) / Math.Max(1, maxTicks - 1), round: true);
        return (Math.Floor(min / step) * step, Math.Ceiling(max / step) * step, step);
    }

    /// <summary>The values from <paramref name="min"/> to <paramref name="max"/> in steps (free of rounding drift).</summary>
    public static IEnumerable<double> Ticks(double min, double max, double step)
    {
        var count = (int)Math.Round((max - min) / step);
        for (var i = 0; i <= count; i++)
            yield return Math.Round(min + i * step, 10);
    }

    /// <summary>How many decimals a tick label needs so that neighbouring ticks differ.</summary>
    public static int Decimals(double step) => Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));

    /// <summary>A whole-number step so that <paramref name="span"/> gets at most about <paramref name="maxTicks"/> ticks.</summary>
    public static int IntegerStep(int span, int maxTicks) =>
        span <= maxTicks ? 1 : (int)Math.Max(1, Nice((double)span / maxTicks, round: false));

    private static double Nice(double value, bool round)
    {
        var exponent = Math.Floor(Math.Log10(value));
        var fraction = value / Math.Pow(10, exponent);
        var nice = round
            ? fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
            : fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * Math.Pow(10, exponent);
    }
}
