using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The "Training doctor" section: each finding as a coloured severity label with its title, the evidence (the
/// numbers that triggered it) and the advice, worst first; continued on more pages when long. Left out when the doctor
/// found nothing; otherwise the summary page's facts count the findings.</summary>
internal static class DoctorPages
{
    private const float LabelWidth = 58;
    private const float LabelHeight = 13;
    private const float LabelRadius = 3;
    private const float FindingGap = 12;
    private const float LineGap = 2;

    private static readonly TextStyle LabelStyle = new(7.5f, Bold: true, Color: SKColors.White);
    private static readonly TextStyle TitleStyle = new(PageLayout.BodySize + 1, Bold: true);
    private static readonly TextStyle BodyStyle = new(PageLayout.BodySize);
    private static readonly TextStyle AdviceStyle = new(PageLayout.BodySize, Color: ReportColors.Muted);

    public static readonly SKColor Error = new(0xC6, 0x28, 0x28);
    public static readonly SKColor Warning = new(0xB2, 0x5E, 0x09);
    public static readonly SKColor Info = new(0x15, 0x65, 0xC0);

    private const string Subtitle = "Rules over the run's epochs, settings and data, and other runs on the same data; each finding gives the numbers " +
        "that triggered it and what to do.";

    private sealed record Block(ReportFinding Finding, IReadOnlyList<string> Title, IReadOnlyList<string> Evidence, IReadOnlyList<string> Advice)
    {
        public float Height => Math.Max(LabelHeight, Title.Count * TitleStyle.LineHeight) + LineGap
            + Evidence.Count * BodyStyle.LineHeight + LineGap + Advice.Count * AdviceStyle.LineHeight + FindingGap;
    }

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        if (report.Findings is not { Count: > 0 } findings)
            yield break;
        var area = PageLayout.Content;
        var textWidth = area.Width - LabelWidth - 8;
        var blocks = findings.Select(f => new Block(f, ReportText.Wrap(f.Title, TitleStyle, textWidth),
            ReportText.Wrap(f.Evidence, BodyStyle, textWidth), ReportText.Wrap($"What to do: {f.Advice}", AdviceStyle, textWidth))).ToList();

        var space = area.Height - ReportPdf.HeadingHeight(Subtitle, area.Width);
        var pages = new List<List<Block>> { new() };
        var left = space;
        foreach (var block in blocks)
        {
            if (block.Height > left && pages[^1].Count > 0)
            {
                pages.Add([]);
                left = space;
            }
            pages[^1].Add(block);
            left -= block.Height;
        }

        for (var page = 0; page < pages.Count; page++)
        {
            var chunk = pages[page];
            var title = page == 0 ? "Training doctor" : "Training doctor (continued)";
            yield return (canvas, content) =>
            {
                var y = ReportPdf.Heading(canvas, content, title, Subtitle);
                foreach (var block in chunk)
                    y = Draw(canvas, content, y, block);
            };
        }
    }

    private static float Draw(SKCanvas canvas, SKRect area, float top, Block block)
    {
        using (var fill = new SKPaint { Color = Colour(block.Finding.Severity), IsAntialias = true })
            canvas.DrawRoundRect(new SKRect(area.Left, top, area.Left + LabelWidth, top + LabelHeight), LabelRadius, LabelRadius, fill);
        ReportText.Draw(canvas, block.Finding.Severity.ToUpperInvariant(), area.Left + LabelWidth / 2, top + LabelHeight - 3.5f, LabelStyle, SKTextAlign.Center);

        var x = area.Left + LabelWidth + 8;
        var y = top;
        foreach (var line in block.Title)
        {
            ReportText.Draw(canvas, line, x, y + TitleStyle.Size, TitleStyle);
            y += TitleStyle.LineHeight;
        }
        y = Math.Max(y, top + LabelHeight) + LineGap;
        foreach (var line in block.Evidence)
        {
            ReportText.Draw(canvas, line, x, y + BodyStyle.Size, BodyStyle);
            y += BodyStyle.LineHeight;
        }
        y += LineGap;
        foreach (var line in block.Advice)
        {
            ReportText.Draw(canvas, line, x, y + AdviceStyle.Size, AdviceStyle);
            y += AdviceStyle.LineHeight;
        }
        return y + FindingGap;
    }

    private static SKColor Colour(string severity) => severity switch
    {
        "error" => Error,
        "warning" => Warning,
        _ => Info,
    };
}
