using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>A row of a two-column table: a name, its value (wrapped) and optional small print under the value.</summary>
internal sealed record KeyValueRow(string Key, string Value, string? SmallPrint = null);

/// <summary>Name/value rows with a hairline under each; rows are measured first so sections can paginate them.</summary>
internal static class KeyValueTable
{
    private const float KeyWidth = 150;
    private const float Padding = 4;
    private const int MaxValueLines = 4;
    private static readonly TextStyle KeyStyle = new(PageLayout.BodySize - 0.5f, Color: ReportColors.Muted);
    private static readonly TextStyle ValueStyle = new(PageLayout.BodySize);
    private static readonly TextStyle SmallPrintStyle = new(PageLayout.SmallSize, Color: ReportColors.Muted);

    public static float RowHeight(KeyValueRow row, float width) =>
        2 * Padding + ValueLines(row, width).Count * ValueStyle.LineHeight + (row.SmallPrint is null ? 0 : SmallPrintStyle.LineHeight);

    /// <summary>Draws the rows from <paramref name="top"/> down; returns the y under the last one.</summary>
    public static float Draw(SKCanvas canvas, IEnumerable<KeyValueRow> rows, float left, float top, float width)
    {
        using var rule = new SKPaint { Color = ReportColors.Grid, StrokeWidth = 0.5f, IsAntialias = true };
        var y = top;
        foreach (var row in rows)
        {
            var baseline = y + Padding + ValueStyle.Size;
            ReportText.Draw(canvas, ReportText.Ellipsize(row.Key, KeyStyle, KeyWidth - 8), left, baseline, KeyStyle);
            foreach (var line in ValueLines(row, width))
            {
                ReportText.Draw(canvas, line, left + KeyWidth, baseline, ValueStyle);
                baseline += ValueStyle.LineHeight;
            }
            if (row.SmallPrint is not null)
                ReportText.Draw(canvas, ReportText.Ellipsize(row.SmallPrint, SmallPrintStyle, width - KeyWidth),
                    left + KeyWidth, baseline - ValueStyle.LineHeight + SmallPrintStyle.LineHeight + 1, SmallPrintStyle);
            y += RowHeight(row, width);
            canvas.DrawLine(left, y, left + width, y, rule);
        }
        return y;
    }

    /// <summary>Splits rows into pages: as many as fit into <paramref name="firstSpace"/> (maybe none), then
    /// <paramref name="nextSpace"/> each (a later page always takes at least one row).</summary>
    public static List<List<KeyValueRow>> Paginate(IReadOnlyList<KeyValueRow> rows, float width, float firstSpace, float nextSpace)
    {
        var pages = new List<List<KeyValueRow>> { new() };
        var space = firstSpace;
        foreach (var row in rows)
        {
            var height = RowHeight(row, width);
            if (height > space && (pages.Count == 1 || pages[^1].Count > 0))
            {
                pages.Add([]);
                space = nextSpace;
            }
            pages[^1].Add(row);
            space -= height;
        }
        return pages;
    }

    private static IReadOnlyList<string> ValueLines(KeyValueRow row, float width)
    {
        var lines = ReportText.Wrap(row.Value, ValueStyle, width - KeyWidth, MaxValueLines);
        return lines.Count == 0 ? [""] : lines;
    }
}
