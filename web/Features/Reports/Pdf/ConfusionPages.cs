using System.Globalization;
using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>
/// The confusion matrix as a heatmap: rows are true classes, columns predicted ones, each cell shows its count and is
/// shaded by its share of the true class's images (so small classes are as readable as large ones); the diagonal is
/// outlined. Class names label both axes (column names read upwards); a name too long for its label keeps its start and
/// its end around an ellipsis, and when that would still make two labels the same, the axes show the classes' numbers
/// and a legend page after the matrix lists every number with its full name. Up to about 25
/// classes fit on one page; more are split into parts (tiles), one page each, their axis titles saying which classes
/// they show.
/// </summary>
internal static class ConfusionPages
{
    private const float MinCell = 16;
    private const float MaxCell = 60;
    private const float MaxLabelWidth = 120;
    private const float MinLabelWidth = 24;
    private const float LabelGap = 4;
    private const float AxisTitleBand = 16;
    private const float LegendHeight = 40;
    private const float LegendGap = 18;
    private const float LegendBarWidth = 150;
    private const float LegendBarHeight = 8;
    private const float MinCountSize = 5;
    private const float MaxCountSize = 11;

    private static readonly TextStyle LabelStyle = new(7.5f);
    private static readonly TextStyle AxisTitleStyle = new(8.5f, Bold: true, Color: ReportColors.Muted);
    private static readonly TextStyle LegendStyle = new(7.5f, Color: ReportColors.Muted);

    /// <summary>Which true classes (rows) and predicted classes (columns) one page shows.</summary>
    private sealed record Tile(int FirstRow, int RowCount, int FirstColumn, int ColumnCount);

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        var names = report.ClassNames;
        var count = names.Count;
        var subtitle = $"On the {ReportFormat.Split(report.EvaluatedSplit)}. Rows: true class; columns: predicted class; " +
            "shade: share of the true class's images; outlined: correct predictions.";
        var area = PageLayout.Content;
        if (count == 0)
        {
            yield return (canvas, content) => ReportPdf.Heading(canvas, content, "Confusion matrix", "No classes were evaluated.");
            yield break;
        }

        var labels = Labels(names);
        if (labels.Distinct(StringComparer.Ordinal).Count() < labels.Count)
        {
            labels = [.. names.Select((_, i) => Number(i))];
            subtitle = $"On the {ReportFormat.Split(report.EvaluatedSplit)}. Rows: true class; columns: predicted class (numbered: " +
                "the page after the matrix names them); shade: share of the true class's images; outlined: correct.";
        }
        var labelWidth = Math.Clamp(labels.Max(l => ReportText.Width(l, LabelStyle)), MinLabelWidth, MaxLabelWidth);
        var gridTop = area.Top + ReportPdf.HeadingHeight(subtitle, area.Width) + AxisTitleBand + labelWidth + LabelGap;
        var gridLeft = area.Left + AxisTitleBand + labelWidth + LabelGap;
        var (width, height) = (area.Right - gridLeft, area.Bottom - LegendHeight - gridTop);

        var fitsOnePage = count * MinCell <= width && count * MinCell <= height;
        var cell = fitsOnePage ? Math.Min(MaxCell, Math.Min(width, height) / count) : MinCell;
        var (rowsPerPage, columnsPerPage) = fitsOnePage ? (count, count) : ((int)(height / MinCell), (int)(width / MinCell));
        var tiles = (from firstRow in Enumerable.Range(0, Pages(count, rowsPerPage)).Select(p => p * rowsPerPage)
                     from firstColumn in Enumerable.Range(0, Pages(count, columnsPerPage)).Select(p => p * columnsPerPage)
                     select new Tile(firstRow, Math.Min(rowsPerPage, count - firstRow),
                         firstColumn, Math.Min(columnsPerPage, count - firstColumn)))
            .ToList();

        for (var part = 0; part < tiles.Count; part++)
        {
            var tile = tiles[part];
            var title = tiles.Count == 1 ? "Confusion matrix" : $"Confusion matrix (part {part + 1} of {tiles.Count})";
            yield return (canvas, content) =>
            {
                ReportPdf.Heading(canvas, content, title, subtitle);
                var grid = new SKRect(gridLeft, gridTop, gridLeft + tile.ColumnCount * cell, gridTop + tile.RowCount * cell);
                AxisLabels(canvas, grid, cell, labels, tile, labelWidth, tiles.Count > 1 ? count : null);
                Cells(canvas, grid, cell, report.Confusion, tile);
                Legend(canvas, content.Left, grid.Bottom + LegendGap);
            };
        }
    }

    /// <summary>The classes' numbers and full names, on as many pages as they need, after a numbered matrix.</summary>
    public static IEnumerable<PageContent> ClassLegend(RunReport report)
    {
        var names = report.ClassNames;
        var labels = Labels(names);
        if (labels.Distinct(StringComparer.Ordinal).Count() == labels.Count)
            yield break;
        var rows = names.Select((n, i) => new KeyValueRow(Number(i), n)).ToList();
        var area = PageLayout.Content;
        var space = area.Height - ReportPdf.HeadingHeight(LegendSubtitle, area.Width);
        var pages = KeyValueTable.Paginate(rows, area.Width, space, space);
        for (var page = 0; page < pages.Count; page++)
        {
            var chunk = pages[page];
            var title = page == 0 ? "Confusion matrix: classes" : "Confusion matrix: classes (continued)";
            yield return (canvas, content) =>
                KeyValueTable.Draw(canvas, chunk, content.Left, ReportPdf.Heading(canvas, content, title, LegendSubtitle), content.Width);
        }
    }

    private const string LegendSubtitle = "The numbers on the matrix's axes and the classes they stand for.";

    private static string Number(int index) => $"#{index + 1}";

    /// <summary>Each name as its axis label: whole when it fits, else its start and end around an ellipsis.</summary>
    private static List<string> Labels(IReadOnlyList<string> names) =>
        [.. names.Select(n => ReportText.EllipsizeMiddle(n, LabelStyle, MaxLabelWidth))];

    private static int Pages(int count, int perPage) => (count + perPage - 1) / perPage;

    /// <summary>" (24–40 of 40)" when the matrix is split into parts, else nothing.</summary>
    private static string Part(int first, int count, int? of) =>
        of is null ? "" : count == 1 ? $" ({first + 1} of {of})" : $" ({first + 1}–{first + count} of {of})";

    private static void AxisLabels(SKCanvas canvas, SKRect grid, float cell, IReadOnlyList<string> labels, Tile tile,
        float labelWidth, int? classCount)
    {
        for (var r = 0; r < tile.RowCount; r++)
            ReportText.Draw(canvas, labels[tile.FirstRow + r], grid.Left - LabelGap,
                grid.Top + (r + 0.5f) * cell + LabelStyle.CenteringOffset, LabelStyle, SKTextAlign.Right);
        for (var c = 0; c < tile.ColumnCount; c++)
            ReportText.DrawUpwards(canvas, labels[tile.FirstColumn + c], grid.Left + (c + 0.5f) * cell + LabelStyle.CenteringOffset,
                grid.Top - LabelGap, LabelStyle);

        var columnTitleBaseline = grid.Top - LabelGap - labelWidth - 6;
        ReportText.Draw(canvas, "predicted class" + Part(tile.FirstColumn, tile.ColumnCount, classCount), grid.MidX,
            columnTitleBaseline, AxisTitleStyle, SKTextAlign.Center);
        var rowTitleX = grid.Left - LabelGap - labelWidth - 6;
        ReportText.DrawUpwards(canvas, "true class" + Part(tile.FirstRow, tile.RowCount, classCount), rowTitleX, grid.MidY,
            AxisTitleStyle, SKTextAlign.Center);
    }

    private static void Cells(SKCanvas canvas, SKRect grid, float cell, int[][] confusion, Tile tile)
    {
        using var fill = new SKPaint { IsAntialias = false };
        using var separator = new SKPaint { Color = SKColors.White, StrokeWidth = 0.6f, Style = SKPaintStyle.Stroke };
        using var diagonal = new SKPaint { Color = ReportColors.Ink, StrokeWidth = 0.9f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        var countSize = Math.Clamp(cell * 0.36f, MinCountSize, MaxCountSize);

        for (var r = 0; r < tile.RowCount; r++)
        {
            var row = tile.FirstRow + r;
            var counts = row < confusion.Length ? confusion[row] : [];
            var total = counts.Sum(c => (long)c);
            for (var c = 0; c < tile.ColumnCount; c++)
            {
                var column = tile.FirstColumn + c;
                var value = column < counts.Length ? counts[column] : 0;
                var share = total > 0 ? (double)value / total : 0;
                var rect = new SKRect(grid.Left + c * cell, grid.Top + r * cell, grid.Left + (c + 1) * cell, grid.Top + (r + 1) * cell);
                fill.Color = ReportColors.HeatOf(share);
                canvas.DrawRect(rect, fill);
                canvas.DrawRect(rect, separator);
                if (row == column)
                    canvas.DrawRect(SKRect.Inflate(rect, -0.6f, -0.6f), diagonal);
                Count(canvas, rect, value, share, countSize);
            }
        }
    }

    /// <summary>The count centred in its cell, shrunk when its digits would not fit; zeros muted.</summary>
    private static void Count(SKCanvas canvas, SKRect rect, int value, double share, float size)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        var style = new TextStyle(size, Bold: value > 0, Color: ReportColors.HeatTextOf(value, share));
        var width = ReportText.Width(text, style);
        if (width > rect.Width - 2)
            style = style with { Size = Math.Max(3, size * (rect.Width - 2) / width) };
        ReportText.Draw(canvas, text, rect.MidX, rect.MidY + style.CenteringOffset, style, SKTextAlign.Center);
    }

    private static void Legend(SKCanvas canvas, float left, float top)
    {
        var bar = new SKRect(left, top, left + LegendBarWidth, top + LegendBarHeight);
        using var shader = SKShader.CreateLinearGradient(new SKPoint(bar.Left, 0), new SKPoint(bar.Right, 0),
            ReportColors.Heat, SKShaderTileMode.Clamp);
        using var gradient = new SKPaint { Shader = shader };
        canvas.DrawRect(bar, gradient);
        using var frame = new SKPaint { Color = ReportColors.Rule, StrokeWidth = 0.5f, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(bar, frame);
        var baseline = bar.Bottom + LegendStyle.LineHeight;
        ReportText.Draw(canvas, "0%", bar.Left, baseline, LegendStyle);
        ReportText.Draw(canvas, "100% of the true class", bar.Right, baseline, LegendStyle, SKTextAlign.Right);
    }
}
