using SkiaSharp;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The per-class metrics table (precision, recall, F1 with three decimals, support), then the macro and
/// weighted averages, then the metrics' conventions in one small line (<see cref="ClassificationMetrics.Conventions"/>).
/// A long class name wraps onto as many lines as it needs (never cut: two names that differ only at their end stay
/// different); long tables continue on more pages with the column header repeated.</summary>
internal static class ClassTablePages
{
    private const float NumberColumnWidth = 68;
    private const float RowPadding = 3; // with the conventions note, 20 classes with two-line names still fit on one page
    private const float HeaderHeight = 20;
    private const float CellPadding = 6;
    private const float AverageGap = 8;
    private const int MaxNoteLines = 3;
    private const float TableSize = 9; // 20 classes with two-line names still fit on one page

    private static readonly string[] NumberColumns = ["Precision", "Recall", "F1", "Support"];
    private static readonly TextStyle HeaderStyle = new(8.5f, Bold: true, Color: ReportColors.Muted);
    private static readonly TextStyle CellStyle = new(TableSize);
    private static readonly TextStyle EmptyClassStyle = CellStyle.WithColor(ReportColors.Muted);
    private static readonly TextStyle AverageStyle = new(TableSize, Bold: true);
    private static readonly TextStyle NoteStyle = new(PageLayout.SmallSize, Color: ReportColors.Muted);

    /// <summary>A table line: a class or an average with its name's lines, or (null row) the rule before the averages
    /// (no text) or the note after them (its text's lines).</summary>
    private sealed record Line(ReportClassRow? Row, IReadOnlyList<string> Name, TextStyle Style, bool IsAverage)
    {
        public float Height => Row is not null ? Name.Count * Style.LineHeight + 2 * RowPadding
            : Name.Count == 0 ? AverageGap : Name.Count * Style.LineHeight + RowPadding;
    }

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        var area = PageLayout.Content;
        var subtitle = $"On the {ReportFormat.Split(report.EvaluatedSplit)}. Support: the class's images there. " +
            "A metric that is 0/0 is shown as 0.";
        var nameWidth = area.Width - NumberColumns.Length * NumberColumnWidth - 2 * CellPadding;
        List<Line> lines =
        [
            .. report.PerClass.Select(r =>
                ClassLine(r, r.ClassName, r.Support == 0 ? EmptyClassStyle : CellStyle, nameWidth, isAverage: false)),
            new Line(null, [], CellStyle, IsAverage: true),
            ClassLine(report.MacroAverage, ReportCsv.MacroLabel, AverageStyle, nameWidth, isAverage: true),
            ClassLine(report.WeightedAverage, ReportCsv.WeightedLabel, AverageStyle, nameWidth, isAverage: true),
            new Line(null, ReportText.Wrap(ClassificationMetrics.Conventions, NoteStyle, area.Width - 2 * CellPadding, MaxNoteLines),
                NoteStyle, IsAverage: true),
        ];
        var space = area.Height - ReportPdf.HeadingHeight(subtitle, area.Width) - HeaderHeight;
        var pages = Paginate(lines, space);

        for (var page = 0; page < pages.Count; page++)
        {
            var chunk = pages[page];
            var title = page == 0 ? "Per-class metrics" : "Per-class metrics (continued)";
            yield return (canvas, content) =>
            {
                var y = Header(canvas, content, ReportPdf.Heading(canvas, content, title, subtitle));
                for (var i = 0; i < chunk.Count; i++)
                    y = Draw(canvas, content, y, chunk[i], stripe: i % 2 == 1);
            };
        }
    }

    private static Line ClassLine(ReportClassRow row, string name, TextStyle style, float nameWidth, bool isAverage) =>
        new(ReportFormat.Defined(row), ReportText.Wrap(name, style, nameWidth), style, isAverage);

    private static List<List<Line>> Paginate(IEnumerable<Line> lines, float space)
    {
        var pages = new List<List<Line>> { new() };
        var left = space;
        foreach (var line in lines)
        {
            if (line.Height > left && pages[^1].Count > 0)
            {
                pages.Add([]);
                left = space;
            }
            pages[^1].Add(line);
            left -= line.Height;
        }
        return pages;
    }

    private static float Header(SKCanvas canvas, SKRect area, float top)
    {
        var baseline = top + HeaderHeight - 7;
        ReportText.Draw(canvas, "Class", area.Left + CellPadding, baseline, HeaderStyle);
        for (var c = 0; c < NumberColumns.Length; c++)
            ReportText.Draw(canvas, NumberColumns[c], NumberRight(area, c), baseline, HeaderStyle, SKTextAlign.Right);
        using var rule = new SKPaint { Color = ReportColors.Ink, StrokeWidth = 0.75f, IsAntialias = true };
        canvas.DrawLine(area.Left, top + HeaderHeight, area.Right, top + HeaderHeight, rule);
        return top + HeaderHeight;
    }

    private static float Draw(SKCanvas canvas, SKRect area, float top, Line line, bool stripe)
    {
        if (line.Row is null && line.Name.Count > 0)
        {
            for (var i = 0; i < line.Name.Count; i++)
                ReportText.Draw(canvas, line.Name[i], area.Left + CellPadding,
                    top + RowPadding + line.Style.Size + i * line.Style.LineHeight, line.Style);
            return top + line.Height;
        }
        if (line.Row is not { } row)
        {
            using var rule = new SKPaint { Color = ReportColors.Rule, StrokeWidth = 0.75f, IsAntialias = true };
            canvas.DrawLine(area.Left, top + AverageGap / 2, area.Right, top + AverageGap / 2, rule);
            return top + line.Height;
        }
        if (stripe && !line.IsAverage)
        {
            using var fill = new SKPaint { Color = ReportColors.Stripe };
            canvas.DrawRect(new SKRect(area.Left, top, area.Right, top + line.Height), fill);
        }
        var baseline = top + RowPadding + line.Style.Size;
        for (var i = 0; i < line.Name.Count; i++)
            ReportText.Draw(canvas, line.Name[i], area.Left + CellPadding, baseline + i * line.Style.LineHeight, line.Style);
        string[] cells =
        [
            ReportFormat.Metric(row.Precision), ReportFormat.Metric(row.Recall), ReportFormat.Metric(row.F1),
            ReportFormat.Count(row.Support),
        ];
        for (var c = 0; c < cells.Length; c++)
            ReportText.Draw(canvas, cells[c], NumberRight(area, c), baseline, line.Style, SKTextAlign.Right);
        return top + line.Height;
    }

    private static float NumberRight(SKRect area, int column) =>
        area.Right - (NumberColumns.Length - 1 - column) * NumberColumnWidth - CellPadding;
}
