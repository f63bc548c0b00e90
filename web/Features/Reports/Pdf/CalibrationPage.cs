using System.Globalization;
using SkiaSharp;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The "Calibration" page (ADR 022): the temperature and what it was fitted on, the expected calibration error
/// before and after, the "unknown" threshold with its coverage, and the reliability diagram of the evaluated split
/// (accuracy per confidence bin: before as an outlined bar on the bin's left half, after filled on its right half, the
/// diagonal = perfect calibration).</summary>
internal static class CalibrationPage
{
    private const float DiagramGap = 16;
    private const float MaxDiagramSize = 330;
    private const float AxisLabelWidth = 40;
    private const float AxisTitle = 16;
    private const float LegendRow = 18;
    private const float MinBarHeight = 1.5f;

    private static readonly TextStyle TickStyle = new(7.5f, Color: ReportColors.Muted);
    private static readonly TextStyle AxisTitleStyle = new(8, Color: ReportColors.Muted);
    private static readonly TextStyle LegendStyle = new(8);
    private static readonly TextStyle CountStyle = new(6.5f, Color: ReportColors.Muted);

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        if (report.Calibration is not { } c)
            yield break;
        yield return (canvas, area) =>
        {
            var top = ReportPdf.Heading(canvas, area, "Calibration",
                "How far the model's confidence can be trusted: temperature scaling (Guo et al. 2017) divides the logits by one number T " +
                "fitted on held-out images (never the test split); it changes confidence, not the predicted class.");
            var ci = CultureInfo.InvariantCulture;
            List<KeyValueRow> rows =
            [
                new("Temperature", c.Temperature.ToString("0.###", ci), $"fitted on {c.FittedOnText}"),
                new($"ECE on {report.EvaluatedSplit}", $"{ReportFormat.Percent(c.EceBefore)} before (T = 1), {ReportFormat.Percent(c.EceAfter)} after",
                    $"expected calibration error, {Reliability.DefaultBins} equal-width confidence bins"),
                new("\"Unknown\" below", c.Threshold is { } t ? ReportFormat.Percent(t) : "no threshold",
                    $"target precision {ReportFormat.Percent(c.TargetPrecision)}" + (c.Threshold is null ? "" : $", coverage {ReportFormat.Percent(c.Coverage)}")),
                new("Threshold", c.ThresholdMessage),
            ];
            if (c.Note is { } note) rows.Insert(1, new KeyValueRow("Note", note));
            top = KeyValueTable.Draw(canvas, rows, area.Left, top, area.Width) + DiagramGap;
            var size = Math.Min(MaxDiagramSize, Math.Min(area.Width - AxisLabelWidth - AxisTitle, area.Bottom - top - LegendRow - 30));
            Diagram(canvas, new SKRect(area.Left + AxisTitle + AxisLabelWidth, top + LegendRow, area.Left + AxisTitle + AxisLabelWidth + size, top + LegendRow + size),
                c, report.EvaluatedSplit);
        };
    }

    /// <summary>The reliability diagram in <paramref name="plot"/> (a square): x confidence, y accuracy, both 0–100 %.</summary>
    internal static void Diagram(SKCanvas canvas, SKRect plot, ReportCalibration c, string split)
    {
        float X(double v) => plot.Left + (float)v * plot.Width;
        float Y(double v) => plot.Bottom - (float)v * plot.Height;
        float Mid(ReliabilityBin bin) => (X(bin.Lower) + X(bin.Upper)) / 2;
        var after = new SKColor(0x1E, 0x88, 0xE5);
        var before = ReportColors.Validation;

        // Legend above the plot.
        var legendY = plot.Top - 8;
        var x = plot.Left;
        using (var fill = new SKPaint { Color = after, IsAntialias = true })
            canvas.DrawRect(x, legendY - 7, 12, 8, fill);
        ReportText.Draw(canvas, $"after (T = {c.Temperature.ToString("0.###", CultureInfo.InvariantCulture)})", x + 16, legendY, LegendStyle);
        x += 16 + ReportText.Width($"after (T = {c.Temperature.ToString("0.###", CultureInfo.InvariantCulture)})", LegendStyle) + 14;
        using (var outline = Stroke(before, 1.2f))
            canvas.DrawRect(x, legendY - 7, 12, 8, outline);
        ReportText.Draw(canvas, "before (T = 1)", x + 16, legendY, LegendStyle);
        x += 16 + ReportText.Width("before (T = 1)", LegendStyle) + 14;
        using (var diagonal = Stroke(ReportColors.Marker, 1, dashed: true))
            canvas.DrawLine(x, legendY - 3, x + 18, legendY - 3, diagonal);
        ReportText.Draw(canvas, "perfect calibration", x + 22, legendY, LegendStyle);

        using (var grid = Stroke(ReportColors.Grid, 0.5f))
        {
            for (var i = 0; i <= 5; i++)
            {
                var v = i / 5.0;
                canvas.DrawLine(plot.Left, Y(v), plot.Right, Y(v), grid);
                ReportText.Draw(canvas, (v * 100).ToString("0", CultureInfo.InvariantCulture) + "%", plot.Left - 4, Y(v) + 2.5f, TickStyle, SKTextAlign.Right);
                ReportText.Draw(canvas, (v * 100).ToString("0", CultureInfo.InvariantCulture) + "%", X(v), plot.Bottom + 10, TickStyle, SKTextAlign.Center);
            }
        }
        // Each bin: before on its left half (outlined), after on its right half (filled), so neither hides the other.
        using (var outline = Stroke(before, 1.2f))
            foreach (var bin in c.BinsBefore.Where(b => b.Count > 0))
                canvas.DrawRect(new SKRect(X(bin.Lower) + 1, Y(bin.Accuracy), Mid(bin), plot.Bottom), outline);
        using (var fill = new SKPaint { Color = after, IsAntialias = true })
            foreach (var bin in c.BinsAfter.Where(b => b.Count > 0))
            {
                // A bin whose images are all wrong still shows (a sliver), not nothing.
                canvas.DrawRect(new SKRect(Mid(bin), Math.Min(Y(bin.Accuracy), plot.Bottom - MinBarHeight), X(bin.Upper) - 1, plot.Bottom), fill);
                ReportText.Draw(canvas, bin.Count.ToString(CultureInfo.InvariantCulture), (Mid(bin) + X(bin.Upper)) / 2,
                    Math.Min(Y(bin.Accuracy), plot.Bottom) - 2, CountStyle, SKTextAlign.Center);
            }
        using (var diagonal = Stroke(ReportColors.Marker, 1, dashed: true))
            canvas.DrawLine(X(0), Y(0), X(1), Y(1), diagonal);
        using (var frame = Stroke(ReportColors.Rule, 0.75f))
            canvas.DrawRect(plot, frame);
        ReportText.Draw(canvas, $"confidence (top-class probability) on {split}; numbers: images per bin (after)", (plot.Left + plot.Right) / 2,
            plot.Bottom + 24, AxisTitleStyle, SKTextAlign.Center);
        ReportText.DrawUpwards(canvas, "accuracy", plot.Left - AxisLabelWidth + 4, (plot.Top + plot.Bottom) / 2, AxisTitleStyle, SKTextAlign.Center);
    }

    private static SKPaint Stroke(SKColor color, float width, bool dashed = false) => new()
    {
        Color = color,
        StrokeWidth = width,
        IsStroke = true,
        IsAntialias = true,
        PathEffect = dashed ? SKPathEffect.CreateDash([4, 3], 0) : null,
    };
}
