using System.Globalization;
using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>One value per epoch; null (or not a number) where the run recorded none.</summary>
internal readonly record struct ChartPoint(int Epoch, double? Value);

/// <summary>A curve: its legend name, colour, line style and points.</summary>
internal sealed record ChartSeries(string Name, SKColor Color, bool Dashed, IReadOnlyList<ChartPoint> Points)
{
    public bool HasValues => Points.Any(p => p.Value is { } v && double.IsFinite(v));
}

/// <summary>What the y axis shows: a loss (from 0 when all values are positive) or an accuracy (a fraction, labelled
/// as a percentage, kept within 0–100%).</summary>
internal enum ChartQuantity { Loss, Accuracy }

/// <summary>
/// A line chart of values per epoch with axes, ticks, grid, a legend above the plot (so it never covers a curve) and
/// a dashed marker at the best epoch. A missing value breaks its curve; a point with no neighbour is still shown as
/// a dot, so a single epoch gives one dot per curve.
/// </summary>
internal static class LineChart
{
    private const float TitleRow = 26;
    private const float YLabelWidth = 38;
    private const float YTitleWidth = 14;
    private const float XLabelHeight = 14;
    private const float XTitleHeight = 14;
    private const float TickLength = 3;
    private const float TickLabelGap = 2;
    private const float MarkerRadius = 2.2f;
    private const float LegendSample = 18;
    private const float LegendGap = 14;
    private const int MaxYTicks = 6;
    private const int MaxXTicks = 10;
    private const int MaxEpochsWithMarkers = 40;
    private const float LineWidth = 1.4f;

    private static readonly TextStyle TitleStyle = new(11, Bold: true);
    private static readonly TextStyle TickStyle = new(7.5f, Color: ReportColors.Muted);
    private static readonly TextStyle AxisTitleStyle = new(8, Color: ReportColors.Muted);
    private static readonly TextStyle LegendStyle = new(8);
    private static readonly TextStyle NoteStyle = new(9, Color: ReportColors.Muted);
    private static readonly TextStyle BestLabelStyle = new(7, Color: ReportColors.Marker);

    public static void Draw(SKCanvas canvas, SKRect bounds, string title, ChartQuantity quantity,
        IReadOnlyList<ChartSeries> series, int bestEpoch)
    {
        ReportText.Draw(canvas, title, bounds.Left, bounds.Top + TitleStyle.Size, TitleStyle);
        Legend(canvas, series, bounds.Right, bounds.Top + TitleStyle.Size - 1);

        var plot = new SKRect(bounds.Left + YTitleWidth + YLabelWidth, bounds.Top + TitleRow,
            bounds.Right - 4, bounds.Bottom - XLabelHeight - XTitleHeight);
        var epochs = series.SelectMany(s => s.Points).Select(p => p.Epoch).Distinct().Order().ToList();
        var values = series.SelectMany(s => s.Points).Select(p => p.Value)
            .OfType<double>().Where(double.IsFinite).ToList();

        using var frame = Stroke(ReportColors.Rule, 0.75f);
        if (epochs.Count == 0 || values.Count == 0)
        {
            canvas.DrawRect(plot, frame);
            ReportText.Draw(canvas, "No epochs were recorded", plot.MidX, plot.MidY, NoteStyle, SKTextAlign.Center);
            return;
        }

        var x = EpochAxis(epochs[0], epochs[^1], plot);
        var (yMin, yMax, yStep) = ValueRange(values, quantity);
        float Y(double value) => (float)(plot.Bottom - (value - yMin) / (yMax - yMin) * plot.Height);

        YAxis(canvas, plot, quantity, yMin, yMax, yStep, Y);
        XAxis(canvas, plot, epochs[0], epochs[^1], x);
        canvas.DrawRect(plot, frame);
        if (bestEpoch >= epochs[0] && bestEpoch <= epochs[^1])
            BestEpoch(canvas, plot, x(bestEpoch), bestEpoch);

        canvas.Save();
        canvas.ClipRect(SKRect.Inflate(plot, MarkerRadius + 1, MarkerRadius + 1));
        foreach (var s in series)
            Curve(canvas, s, x, Y, withMarkers: epochs.Count <= MaxEpochsWithMarkers);
        canvas.Restore();
    }

    /// <summary>Maps an epoch to x: the first and last epochs sit just inside the plot; one epoch sits in the middle.</summary>
    private static Func<double, float> EpochAxis(int first, int last, SKRect plot)
    {
        var span = last - first;
        var pad = span == 0 ? 0.5 : span * 0.04;
        var (min, max) = (first - pad, last + pad);
        return epoch => (float)(plot.Left + (epoch - min) / (max - min) * plot.Width);
    }

    private static (double Min, double Max, double Step) ValueRange(List<double> values, ChartQuantity quantity)
    {
        var (low, high) = (values.Min(), values.Max());
        if (quantity == ChartQuantity.Loss && low >= 0)
            low = 0;
        var (min, max, step) = NiceScale.For(low, high, MaxYTicks);
        return quantity == ChartQuantity.Accuracy && low >= 0 && high <= 1
            ? (Math.Max(0, min), Math.Min(1, max), step)
            : (min, max, step);
    }

    private static void YAxis(SKCanvas canvas, SKRect plot, ChartQuantity quantity, double min, double max, double step,
        Func<double, float> y)
    {
        using var grid = Stroke(ReportColors.Grid, 0.5f);
        using var tick = Stroke(ReportColors.Rule, 0.75f);
        foreach (var value in NiceScale.Ticks(min, max, step))
        {
            var py = y(value);
            canvas.DrawLine(plot.Left, py, plot.Right, py, grid);
            canvas.DrawLine(plot.Left - TickLength, py, plot.Left, py, tick);
            ReportText.Draw(canvas, TickLabel(value, step, quantity), plot.Left - TickLength - TickLabelGap, py + TickStyle.CenteringOffset,
                TickStyle, SKTextAlign.Right);
        }
        var title = quantity == ChartQuantity.Loss ? "loss" : "accuracy";
        ReportText.DrawUpwards(canvas, title, plot.Left - YLabelWidth - 4, plot.MidY, AxisTitleStyle, SKTextAlign.Center);
    }

    private static string TickLabel(double value, double step, ChartQuantity quantity) => quantity == ChartQuantity.Accuracy
        ? (value * 100).ToString("F" + NiceScale.Decimals(step * 100), CultureInfo.InvariantCulture) + "%"
        : value.ToString("F" + NiceScale.Decimals(step), CultureInfo.InvariantCulture);

    private static void XAxis(SKCanvas canvas, SKRect plot, int first, int last, Func<double, float> x)
    {
        using var tick = Stroke(ReportColors.Rule, 0.75f);
        var step = NiceScale.IntegerStep(last - first, MaxXTicks);
        var ticks = Enumerable.Range(first, last - first + 1).Where(e => e % step == 0).ToList();
        if (ticks.Count == 0 || ticks[0] - first >= step / 2.0)
            ticks.Insert(0, first);
        foreach (var epoch in ticks)
        {
            var px = x(epoch);
            canvas.DrawLine(px, plot.Bottom, px, plot.Bottom + TickLength, tick);
            ReportText.Draw(canvas, epoch.ToString(CultureInfo.InvariantCulture), px,
                plot.Bottom + TickLength + TickLabelGap + TickStyle.Size, TickStyle, SKTextAlign.Center);
        }
        ReportText.Draw(canvas, "epoch", plot.MidX, plot.Bottom + XLabelHeight + XTitleHeight - TickLabelGap,
            AxisTitleStyle, SKTextAlign.Center);
    }

    /// <summary>A dashed line at the best epoch, labelled just above the plot (where no curve can run through it).</summary>
    private static void BestEpoch(SKCanvas canvas, SKRect plot, float px, int epoch)
    {
        using var dashed = Stroke(ReportColors.Marker, 0.8f, dashed: true);
        canvas.DrawLine(px, plot.Top, px, plot.Bottom, dashed);
        ReportText.Draw(canvas, $"best: {epoch}", px, plot.Top - TickLabelGap, BestLabelStyle, SKTextAlign.Center);
    }

    private static void Curve(SKCanvas canvas, ChartSeries series, Func<double, float> x, Func<double, float> y, bool withMarkers)
    {
        using var line = Stroke(series.Color, LineWidth, series.Dashed);
        using var marker = new SKPaint { Color = series.Color, IsAntialias = true, Style = SKPaintStyle.Fill };
        var points = series.Points.OrderBy(p => p.Epoch).ToList();
        for (var i = 0; i < points.Count; i++)
        {
            if (Value(points[i]) is not { } value)
                continue;
            var here = new SKPoint(x(points[i].Epoch), y(value));
            var next = i + 1 < points.Count ? Value(points[i + 1]) : null;
            if (next is { } nextValue)
                canvas.DrawLine(here, new SKPoint(x(points[i + 1].Epoch), y(nextValue)), line);
            var previous = i > 0 ? Value(points[i - 1]) : null;
            if (withMarkers || (previous is null && next is null))
                canvas.DrawCircle(here, MarkerRadius, marker);
        }
    }

    private static double? Value(ChartPoint point) => point.Value is { } v && double.IsFinite(v) ? v : null;

    /// <summary>Legend entries right-aligned on the title row: a line sample (dashed like its curve) and the name; a
    /// curve without values says "not recorded".</summary>
    private static void Legend(SKCanvas canvas, IReadOnlyList<ChartSeries> series, float right, float baseline)
    {
        var x = right;
        foreach (var s in series.Reverse())
        {
            var label = s.HasValues ? s.Name : $"{s.Name}: not recorded";
            var style = s.HasValues ? LegendStyle : LegendStyle.WithColor(ReportColors.Muted);
            x -= ReportText.Width(label, style);
            ReportText.Draw(canvas, label, x, baseline, style);
            x -= 4 + LegendSample;
            var mid = baseline - style.CenteringOffset;
            using var sample = Stroke(s.HasValues ? s.Color : ReportColors.Rule, LineWidth, s.Dashed);
            canvas.DrawLine(x, mid, x + LegendSample, mid, sample);
            using var dot = new SKPaint { Color = s.HasValues ? s.Color : ReportColors.Rule, IsAntialias = true };
            canvas.DrawCircle(x + LegendSample / 2, mid, MarkerRadius, dot);
            x -= LegendGap;
        }
    }

    private static SKPaint Stroke(SKColor color, float width, bool dashed = false) => new()
    {
        Color = color,
        StrokeWidth = width,
        Style = SKPaintStyle.Stroke,
        IsAntialias = true,
        PathEffect = dashed ? SKPathEffect.CreateDash([4, 3], 0) : null,
    };
}
