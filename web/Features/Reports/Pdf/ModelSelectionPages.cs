using System.Globalization;
using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>An auto run's "Model selection" section (instead of training curves): why the winner won, the leaderboard
/// (rank, candidate with its settings, cross-validated score with its 95 % interval, macro F1, folds, seconds; the winner
/// on a tinted row), then the candidates the time budget skipped. Long boards continue on more pages with the column
/// header repeated.</summary>
internal static class ModelSelectionPages
{
    private const float RankWidth = 34;
    private const float HeaderHeight = 20;
    private const float RowPadding = 3;
    private const float CellPadding = 6;
    private const float BlockGap = 10;
    private const int MaxReasonLines = 10;
    private const int MaxParamsLines = 2;
    private const int MaxSkippedLines = 4;

    // Right edges of the number columns, counted from the table's right edge.
    private static readonly (string Header, float Width)[] NumberColumns =
        [("CV score", 58), ("95 % CI", 92), ("Macro F1", 54), ("Folds", 38), ("Seconds", 50)];

    private static readonly TextStyle HeaderStyle = new(8.5f, Bold: true, Color: ReportColors.Muted);
    private static readonly TextStyle CellStyle = new(9);
    private static readonly TextStyle WinnerStyle = new(9, Bold: true);
    private static readonly TextStyle ParamsStyle = new(PageLayout.SmallSize, Color: ReportColors.Muted);
    private static readonly TextStyle ReasonStyle = new(PageLayout.BodySize, Bold: true);
    private static readonly TextStyle SkippedHeadingStyle = new(PageLayout.BodySize, Bold: true, Color: ReportColors.Muted);
    private static readonly TextStyle SkippedStyle = new(PageLayout.SmallSize + 0.5f, Color: ReportColors.Muted);
    private static readonly SKColor WinnerTint = new(0xE3, 0xF1, 0xE4);

    /// <summary>One thing on a page: a leaderboard row (needs the column header above it) or a block of text lines.</summary>
    private sealed record Item(ReportCandidate? Candidate, IReadOnlyList<string> Lines, IReadOnlyList<string> Params, TextStyle Style, bool Winner)
    {
        public float Height => Candidate is not null
            ? Lines.Count * Style.LineHeight + Params.Count * ParamsStyle.LineHeight + 2 * RowPadding
            : Lines.Count * Style.LineHeight + (Style == ReasonStyle || Style == SkippedHeadingStyle ? BlockGap : 0);
    }

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        if (report.Leaderboard is not { } board)
            yield break;
        var area = PageLayout.Content;
        var metric = board.Candidates.FirstOrDefault()?.Metric == "macro_f1" ? "macro F1" : "accuracy";
        var subtitle = $"Classifiers on the frozen backbone's features, each scored by k-fold cross-validation on train + val (never test), " +
            $"ranked by mean {metric}, best first; the interval is a 95 % t-interval over the folds, a guide rather than a test.";
        var nameWidth = area.Width - RankWidth - NumberColumns.Sum(c => c.Width) - 2 * CellPadding;
        var items = new List<Item>();
        if (board.WinnerReason is { } reason)
            items.Add(new Item(null, ReportText.Wrap(reason, ReasonStyle, area.Width, MaxReasonLines), [], ReasonStyle, false));
        foreach (var c in board.Candidates)
        {
            var winner = c.Name == board.Winner;
            var style = winner ? WinnerStyle : CellStyle;
            items.Add(new Item(c, ReportText.Wrap(winner ? $"{c.Name} (winner)" : c.Name, style, nameWidth),
                ReportText.Wrap(c.Params, ParamsStyle, nameWidth, MaxParamsLines), style, winner));
        }
        if (board.Skipped.Count > 0)
        {
            items.Add(new Item(null, [$"Skipped to stay within the time budget ({board.Skipped.Count})"], [], SkippedHeadingStyle, false));
            items.AddRange(board.Skipped.Select(s => new Item(null, ReportText.Wrap(s, SkippedStyle, area.Width, MaxSkippedLines), [], SkippedStyle, false)));
        }

        var space = area.Height - ReportPdf.HeadingHeight(subtitle, area.Width) - HeaderHeight;
        var pages = new List<List<Item>> { new() };
        var left = space;
        foreach (var item in items)
        {
            if (item.Height > left && pages[^1].Count > 0)
            {
                pages.Add([]);
                left = space;
            }
            pages[^1].Add(item);
            left -= item.Height;
        }

        for (var page = 0; page < pages.Count; page++)
        {
            var chunk = pages[page];
            var title = page == 0 ? "Model selection" : "Model selection (continued)";
            yield return (canvas, content) =>
            {
                var y = ReportPdf.Heading(canvas, content, title, subtitle);
                var headed = false;
                var row = 0;
                foreach (var item in chunk)
                {
                    if (item.Candidate is not null && !headed)
                    {
                        y = Header(canvas, content, y);
                        headed = true;
                    }
                    y = item.Candidate is { } c ? Row(canvas, content, y, item, c, row++ % 2 == 1) : Text(canvas, content, y, item);
                }
            };
        }
    }

    private static float Header(SKCanvas canvas, SKRect area, float top)
    {
        var baseline = top + HeaderHeight - 7;
        ReportText.Draw(canvas, "Rank", area.Left + CellPadding, baseline, HeaderStyle);
        ReportText.Draw(canvas, "Candidate", area.Left + RankWidth + CellPadding, baseline, HeaderStyle);
        for (var i = 0; i < NumberColumns.Length; i++)
            ReportText.Draw(canvas, NumberColumns[i].Header, ColumnRight(area, i), baseline, HeaderStyle, SKTextAlign.Right);
        using var rule = new SKPaint { Color = ReportColors.Ink, StrokeWidth = 0.75f, IsAntialias = true };
        canvas.DrawLine(area.Left, top + HeaderHeight, area.Right, top + HeaderHeight, rule);
        return top + HeaderHeight;
    }

    private static float Row(SKCanvas canvas, SKRect area, float top, Item item, ReportCandidate c, bool stripe)
    {
        if (item.Winner || stripe)
        {
            using var fill = new SKPaint { Color = item.Winner ? WinnerTint : ReportColors.Stripe };
            canvas.DrawRect(new SKRect(area.Left, top, area.Right, top + item.Height), fill);
        }
        var baseline = top + RowPadding + item.Style.Size;
        ReportText.Draw(canvas, c.Rank > 0 ? c.Rank.ToString(CultureInfo.InvariantCulture) : "–", area.Left + CellPadding, baseline, item.Style);
        var y = baseline;
        foreach (var line in item.Lines)
        {
            ReportText.Draw(canvas, line, area.Left + RankWidth + CellPadding, y, item.Style);
            y += item.Style.LineHeight;
        }
        foreach (var line in item.Params)
        {
            ReportText.Draw(canvas, line, area.Left + RankWidth + CellPadding, y - item.Style.LineHeight + ParamsStyle.LineHeight, ParamsStyle);
            y += ParamsStyle.LineHeight;
        }
        string[] cells =
        [
            // The t-interval is symmetric around the mean and can pass 1 near a perfect score; a score cannot.
            Score(c, c.CvMean), $"{Score(c, Math.Clamp(c.CiLow, 0, 1))} – {Score(c, Math.Clamp(c.CiHigh, 0, 1))}", ReportFormat.Metric(c.MacroF1),
            c.Folds.ToString(CultureInfo.InvariantCulture), double.IsFinite(c.Seconds) ? c.Seconds.ToString("0.00", CultureInfo.InvariantCulture) : ReportFormat.NotANumber,
        ];
        for (var i = 0; i < cells.Length; i++)
            ReportText.Draw(canvas, cells[i], ColumnRight(area, i), baseline, item.Style, SKTextAlign.Right);
        return top + item.Height;
    }

    private static float Text(SKCanvas canvas, SKRect area, float top, Item item)
    {
        var y = top + (item.Style == SkippedHeadingStyle ? BlockGap : 0);
        foreach (var line in item.Lines)
        {
            ReportText.Draw(canvas, line, area.Left, y + item.Style.Size, item.Style);
            y += item.Style.LineHeight;
        }
        return top + item.Height;
    }

    /// <summary>Accuracy in percent, macro F1 with three decimals, as the rest of the report writes them.</summary>
    private static string Score(ReportCandidate c, double value) => c.Metric == "macro_f1" ? ReportFormat.Metric(value) : ReportFormat.Percent(value);

    private static float ColumnRight(SKRect area, int column) =>
        area.Right - NumberColumns.Skip(column + 1).Sum(c => c.Width) - CellPadding;
}
