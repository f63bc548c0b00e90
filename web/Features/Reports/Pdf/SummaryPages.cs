using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>Page 1: title, the headline (accuracy, balanced accuracy, macro F1 and the split they were measured on,
/// with a warning when accuracy hides classes that are often wrong), the run's facts and its hyperparameters (continued
/// on more pages when they do not fit).</summary>
internal static class SummaryPages
{
    private const int TileCount = 4;
    private const float TileGap = 10;
    private const float TileHeight = 60;
    private const float TileRadius = 4;
    private const float TilePadding = 8;
    private const float TileValueBaseline = 28;
    private const float TileLabelBaseline = 42;
    private const float TitleGap = 6;
    private const float BlockGap = 20;
    private const int MaxTitleLines = 2;
    private const int MaxWarningLines = 3;
    private const float WarningGap = 8;

    /// <summary>How far accuracy may exceed macro F1 or balanced accuracy before the headline warns that it flatters.</summary>
    public const double DisagreementThreshold = 0.15;

    private static readonly TextStyle TitleStyle = new(18, Bold: true);
    private static readonly TextStyle SubtitleStyle = new(10, Color: ReportColors.Muted);
    private static readonly TextStyle TableHeadingStyle = new(11, Bold: true);
    private static readonly TextStyle TileValueStyle = new(19, Bold: true);
    private static readonly TextStyle TileLabelStyle = new(7.5f, Color: ReportColors.Muted);
    private static readonly TextStyle WarningStyle = new(PageLayout.BodySize, Bold: true, Color: ReportColors.Validation);

    private sealed record Tile(string Value, string Label, SKColor? Color = null);

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        var area = PageLayout.Content;
        var facts = Facts(report);
        var hyperparameters = report.Hyperparameters.Count == 0
            ? [new KeyValueRow("(none)", "no hyperparameters were recorded")]
            : report.Hyperparameters.Select(h => new KeyValueRow(h.Key, h.Value)).ToList();

        var factsHeight = facts.Sum(r => KeyValueTable.RowHeight(r, area.Width));
        var warning = WarningLines(report, area.Width);
        var warningHeight = warning.Count == 0 ? 0 : WarningGap + warning.Count * WarningStyle.LineHeight;
        var firstTop = HeaderHeight(report, area.Width) + TileHeight + warningHeight + BlockGap + TableHeadingHeight + factsHeight + BlockGap;
        var pages = KeyValueTable.Paginate(hyperparameters, area.Width,
            area.Height - firstTop - TableHeadingHeight, area.Height - ReportPdf.HeadingHeight(null, area.Width));

        yield return (canvas, content) =>
        {
            var y = Header(canvas, report, content);
            y = Tiles(canvas, Tiles(report), content.Left, y, content.Width);
            if (warning.Count > 0)
                y += WarningGap;
            foreach (var line in warning)
            {
                ReportText.Draw(canvas, line, content.Left, y + WarningStyle.Size, WarningStyle);
                y += WarningStyle.LineHeight;
            }
            y += BlockGap;
            y = TableHeading(canvas, "Run", content.Left, y);
            y = KeyValueTable.Draw(canvas, facts, content.Left, y, content.Width) + BlockGap;
            if (pages[0].Count > 0)
            {
                y = TableHeading(canvas, "Hyperparameters", content.Left, y);
                KeyValueTable.Draw(canvas, pages[0], content.Left, y, content.Width);
            }
        };
        foreach (var rows in pages.Skip(1))
            yield return (canvas, content) =>
            {
                var y = ReportPdf.Heading(canvas, content, pages[0].Count > 0 ? "Hyperparameters (continued)" : "Hyperparameters");
                KeyValueTable.Draw(canvas, rows, content.Left, y, content.Width);
            };
    }

    private static List<KeyValueRow> Facts(RunReport report)
    {
        var evaluated = report.Predictions.Count;
        var wrong = report.Predictions.Count(p => p.TrueClass != p.PredictedClass);
        var evaluatedText = evaluated == 0
            ? "no per-image predictions recorded"
            : $"{ReportFormat.Count(evaluated)} images, {ReportFormat.Count(wrong)} misclassified " +
              $"({ReportFormat.Percent((double)wrong / evaluated)})";
        return
        [
            new("Team", report.TeamName),
            new("Project", report.ProjectName),
            new("Dataset", report.DatasetName),
            new("Dataset version", ReportFormat.ShortHash(report.DatasetVersion), SmallPrint: report.DatasetVersion),
            new("Created", ReportFormat.Utc(report.CreatedAtUtc)),
            new("Finished", report.FinishedAtUtc is { } finished ? ReportFormat.Utc(finished) : "not finished"),
            new("Training time", ReportFormat.Duration(report.TrainingSeconds)),
            new("Evaluated on", report.EvaluatedSplit == "train"
                ? $"the training split, because no image was held out — these numbers are optimistic: {evaluatedText}"
                : $"the {ReportFormat.Split(report.EvaluatedSplit)}: {evaluatedText}"),
            new("Classes", $"{report.ClassNames.Count}"),
            // Only with findings: a healthy run's page stays as it was (one more row can push a hyperparameter over).
            .. report.Findings is { Count: > 0 } findings
                ? [new KeyValueRow("Training doctor", $"{findings.Count} finding{(findings.Count == 1 ? "" : "s")}: " +
                    $"{string.Join("; ", findings.Select(f => $"{f.Title} ({f.Severity})"))} (see Training doctor)")]
                : Array.Empty<KeyValueRow>(),
            report.Leaderboard is { Winner: { } winner } board
                ? new("Classifier, loss", $"{winner}, chosen by cross-validation among {board.Candidates.Count} candidates (see Model selection)" +
                    $"; {ReportFormat.SplitName(report.EvaluatedSplit)} loss {ReportFormat.Loss(report.Loss)}")
                : new("Best epoch, loss", (report.BestEpoch > 0 ? $"{report.BestEpoch} of {Epochs(report)} (its weights are kept)" : "–") +
                    (report.StoppedEarly ? ", stopped early" : ", not stopped early") +
                    $"; {ReportFormat.SplitName(report.EvaluatedSplit)} loss {ReportFormat.Loss(report.Loss)}"),
        ];
    }

    private static List<Tile> Tiles(RunReport report)
    {
        var optimistic = report.EvaluatedSplit == "train" ? " (optimistic)" : "";
        return
        [
            new(ReportFormat.Percent(report.Accuracy), $"accuracy{optimistic}", ReportColors.Train),
            new(ReportFormat.Percent(report.MacroAverage.Recall), "balanced accuracy (macro recall)"),
            new(ReportFormat.Metric(report.MacroAverage.F1), "macro F1 (every class counts the same)"),
            new(ReportFormat.SplitName(report.EvaluatedSplit), report.EvaluatedSplit == "train"
                ? "evaluated split: no image was held out" : "evaluated split"),
        ];
    }

    private static int Epochs(RunReport report) => report.Epochs.Count == 0 ? 0 : report.Epochs.Max(e => e.Epoch);

    /// <summary>The sentence under the headline when accuracy flatters the model: it exceeds macro F1 or balanced
    /// accuracy by more than <see cref="DisagreementThreshold"/>, as on an imbalanced test set where the large class is
    /// right and the small ones are not.</summary>
    internal static string? Warning(RunReport report)
    {
        var macroF1 = ReportFormat.Defined(report.MacroAverage).F1;
        var balanced = ReportFormat.Defined(report.MacroAverage).Recall;
        if (report.Accuracy - Math.Min(macroF1, balanced) <= DisagreementThreshold)
            return null;
        var split = ReportFormat.Split(report.EvaluatedSplit);
        var numbers = $"macro F1 {ReportFormat.Metric(macroF1)} and balanced accuracy {ReportFormat.Percent(balanced)}";
        var total = report.PerClass.Sum(c => (long)c.Support);
        var largest = report.PerClass.OrderByDescending(c => c.Support).FirstOrDefault();
        return largest is not null && total > 0 && largest.Support >= 0.5 * total
            ? $"Accuracy is high because one class dominates the {split} ({ReportFormat.Percent((double)largest.Support / total)} " +
              $"of its images are \u201C{largest.ClassName}\u201D); {numbers} show the smaller classes are often wrong."
            : $"Accuracy ({ReportFormat.Percent(report.Accuracy)}) is much higher than {numbers}: some classes are often " +
              "wrong; see the per-class metrics.";
    }

    private static IReadOnlyList<string> WarningLines(RunReport report, float width) =>
        Warning(report) is { } warning ? ReportText.Wrap(warning, WarningStyle, width, MaxWarningLines) : [];

    private static float HeaderHeight(RunReport report, float width) =>
        TitleLines(report, width).Count * TitleStyle.LineHeight + TitleGap + SubtitleStyle.LineHeight + BlockGap;

    private static IReadOnlyList<string> TitleLines(RunReport report, float width) =>
        ReportText.Wrap(report.Title, TitleStyle, width, MaxTitleLines);

    private static float Header(SKCanvas canvas, RunReport report, SKRect area)
    {
        var y = area.Top;
        foreach (var line in TitleLines(report, area.Width))
        {
            ReportText.Draw(canvas, line, area.Left, y + TitleStyle.Size, TitleStyle);
            y += TitleStyle.LineHeight;
        }
        y += TitleGap;
        var subtitle = $"{report.TeamName} · {report.ProjectName} · {report.DatasetName}";
        ReportText.Draw(canvas, ReportText.Ellipsize(subtitle, SubtitleStyle, area.Width), area.Left, y + SubtitleStyle.Size,
            SubtitleStyle);
        return y + SubtitleStyle.LineHeight + BlockGap;
    }

    private static float Tiles(SKCanvas canvas, IReadOnlyList<Tile> tiles, float left, float top, float width)
    {
        var tileWidth = (width - TileGap * (TileCount - 1)) / TileCount;
        using var background = new SKPaint { Color = ReportColors.Tile, IsAntialias = true };
        for (var i = 0; i < tiles.Count; i++)
        {
            var x = left + i * (tileWidth + TileGap);
            canvas.DrawRoundRect(new SKRect(x, top, x + tileWidth, top + TileHeight), TileRadius, TileRadius, background);
            var value = tiles[i].Color is { } color ? TileValueStyle.WithColor(color) : TileValueStyle;
            var textWidth = tileWidth - 2 * TilePadding;
            var valueWidth = ReportText.Width(tiles[i].Value, value);
            if (valueWidth > textWidth) // smaller rather than cut ("validation")
                value = value with { Size = value.Size * textWidth / valueWidth };
            ReportText.Draw(canvas, tiles[i].Value, x + TilePadding, top + TileValueBaseline, value);
            var labelLines = ReportText.Wrap(tiles[i].Label, TileLabelStyle, textWidth, maxLines: 2);
            for (var line = 0; line < labelLines.Count; line++)
                ReportText.Draw(canvas, labelLines[line], x + TilePadding, top + TileLabelBaseline + line * TileLabelStyle.LineHeight,
                    TileLabelStyle);
        }
        return top + TileHeight;
    }

    private static float TableHeadingHeight => TableHeadingStyle.LineHeight + 4;

    private static float TableHeading(SKCanvas canvas, string text, float left, float top)
    {
        ReportText.Draw(canvas, text, left, top + TableHeadingStyle.Size, TableHeadingStyle);
        return top + TableHeadingHeight;
    }
}
