using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>Draws one page's content into the content area (see <see cref="PageLayout.Content"/>).</summary>
internal delegate void PageContent(SKCanvas canvas, SKRect area);

/// <summary>
/// The PDF: each section decides up front how many pages it needs, so every footer can say "Page i of n".
/// Sections: summary and hyperparameters, training curves (for auto runs: model selection), the training doctor's findings
/// (left out when there are none), per-class metrics, confusion matrix, calibration (left out for runs without one),
/// misclassified images (left out when the caller chose none).
/// </summary>
internal static class ReportPdf
{
    private const int MaxSubtitleLines = 2;
    private const float TitleToSubtitle = 3;
    private const float FooterRuleOffset = 10;
    private const float FooterBaselineOffset = 14;
    private const float FooterTitleGap = 16;
    private static readonly TextStyle FooterStyle = new(7.5f, Color: ReportColors.Muted);
    private static readonly TextStyle HeadingStyle = new(PageLayout.HeadingSize, Bold: true);
    private static readonly TextStyle SubtitleStyle = new(PageLayout.SubheadingSize, Color: ReportColors.Muted);

    public static byte[] Render(RunReport report)
    {
        List<PageContent> pages =
        [
            .. SummaryPages.Compose(report),
            // An auto run has no epochs: how it chose its classifier takes the curves' place.
            .. report.Leaderboard is null || report.Epochs.Count > 0 ? [CurvesPage.Compose(report)] : Array.Empty<PageContent>(),
            .. ModelSelectionPages.Compose(report),
            .. DoctorPages.Compose(report),
            .. ClassTablePages.Compose(report),
            .. ConfusionPages.Compose(report),
            .. ConfusionPages.ClassLegend(report),
            .. CalibrationPage.Compose(report),
            .. ThumbnailPages.Compose(report),
        ];

        // First pass: note the glyphs every page draws, so the document embeds font subsets (see FontSubsets).
        using var subsets = FontSubsets.Begin();
        using (var nothing = new SKNoDrawCanvas((int)PageLayout.Width, (int)PageLayout.Height))
            for (var i = 0; i < pages.Count; i++)
            {
                nothing.Save();
                pages[i](nothing, PageLayout.Content);
                Footer(nothing, report.Title, i + 1, pages.Count);
                nothing.Restore();
            }
        subsets.Build();

        using var stream = new MemoryStream();
        using (var document = SKDocument.CreatePdf(stream, Metadata(report)))
        {
            for (var i = 0; i < pages.Count; i++)
            {
                var canvas = document.BeginPage(PageLayout.Width, PageLayout.Height);
                pages[i](canvas, PageLayout.Content);
                Footer(canvas, report.Title, i + 1, pages.Count);
                document.EndPage();
            }
            document.Close();
        }
        return stream.ToArray();
    }

    /// <summary>A section's heading and an optional muted explanation under it (up to two lines); returns where the
    /// content below starts.</summary>
    public static float Heading(SKCanvas canvas, SKRect area, string title, string? subtitle = null)
    {
        var y = area.Top + HeadingStyle.Size + TitleToSubtitle;
        ReportText.Draw(canvas, ReportText.Ellipsize(title, HeadingStyle, area.Width), area.Left, y - TitleToSubtitle, HeadingStyle);
        foreach (var line in SubtitleLines(subtitle, area.Width))
        {
            y += SubtitleStyle.LineHeight;
            ReportText.Draw(canvas, line, area.Left, y, SubtitleStyle);
        }
        return area.Top + HeadingHeight(subtitle, area.Width);
    }

    /// <summary>The height <see cref="Heading"/> takes.</summary>
    public static float HeadingHeight(string? subtitle, float width) =>
        HeadingStyle.Size + TitleToSubtitle + SubtitleLines(subtitle, width).Count * SubtitleStyle.LineHeight + PageLayout.HeadingGap;

    private static IReadOnlyList<string> SubtitleLines(string? subtitle, float width) =>
        subtitle is null ? [] : ReportText.Wrap(subtitle, SubtitleStyle, width, MaxSubtitleLines);

    private static void Footer(SKCanvas canvas, string title, int page, int pages)
    {
        var top = PageLayout.Height - PageLayout.Margin - PageLayout.FooterHeight + FooterRuleOffset;
        using (var rule = new SKPaint { Color = ReportColors.Rule, StrokeWidth = 0.5f, IsAntialias = true })
            canvas.DrawLine(PageLayout.Margin, top, PageLayout.Width - PageLayout.Margin, top, rule);

        var baseline = top + FooterBaselineOffset;
        var pageLabel = $"Page {page} of {pages}";
        var labelWidth = ReportText.Width(pageLabel, FooterStyle);
        var maxTitle = PageLayout.Width - 2 * PageLayout.Margin - labelWidth - FooterTitleGap;
        ReportText.Draw(canvas, ReportText.Ellipsize($"TransferHub · {title}", FooterStyle, maxTitle),
            PageLayout.Margin, baseline, FooterStyle);
        ReportText.Draw(canvas, pageLabel, PageLayout.Width - PageLayout.Margin, baseline, FooterStyle, SKTextAlign.Right);
    }

    private static SKDocumentPdfMetadata Metadata(RunReport report)
    {
        // The run's own time, not the clock: the same report renders to the same document.
        var stamp = ReportFormat.AsUtc(report.FinishedAtUtc ?? report.CreatedAtUtc);
        return new SKDocumentPdfMetadata
        {
            Title = report.Title,
            Subject = $"Evaluation report: {report.ProjectName} / {report.DatasetName}",
            Author = report.TeamName,
            Creator = "TransferHub",
            Producer = "TransferHub (SkiaSharp)",
            Creation = stamp,
            Modified = stamp,
            RasterDpi = SKDocumentPdfMetadata.DefaultRasterDpi,
            EncodingQuality = SKDocumentPdfMetadata.DefaultEncodingQuality,
        };
    }
}
