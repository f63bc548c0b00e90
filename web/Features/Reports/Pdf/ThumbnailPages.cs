using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The misclassified images the caller chose, in a grid with their captions; no page when there are none.
/// The JPEG bytes go into the PDF as they are (SkiaSharp embeds encoded JPEGs without re-encoding them).</summary>
internal static class ThumbnailPages
{
    private const int Columns = 4;
    private const float ColumnGap = 12;
    private const float RowGap = 14;
    private const float CaptionGap = 4;
    private const int MaxCaptionLines = 3;
    private const float PlaceholderRadius = 3;

    private static readonly TextStyle CaptionStyle = new(7.5f);
    private static readonly TextStyle PlaceholderStyle = new(7.5f, Color: ReportColors.Muted);

    public static IEnumerable<PageContent> Compose(RunReport report)
    {
        var thumbnails = report.Misclassified;
        if (thumbnails.Count == 0)
            yield break;

        const string subtitle = "Images of the evaluated split the model got wrong, as chosen for this report.";
        var area = PageLayout.Content;
        var cellWidth = (area.Width - ColumnGap * (Columns - 1)) / Columns;
        var cellHeight = cellWidth + CaptionGap + MaxCaptionLines * CaptionStyle.LineHeight;
        var gridHeight = area.Height - ReportPdf.HeadingHeight(subtitle, area.Width);
        var rows = Math.Max(1, (int)((gridHeight + RowGap) / (cellHeight + RowGap)));
        var chunks = thumbnails.Chunk(rows * Columns).ToList();

        for (var page = 0; page < chunks.Count; page++)
        {
            var chunk = chunks[page];
            var title = page == 0 ? $"Misclassified images ({thumbnails.Count})" : "Misclassified images (continued)";
            yield return (canvas, content) =>
            {
                var top = ReportPdf.Heading(canvas, content, title, subtitle);
                for (var i = 0; i < chunk.Length; i++)
                {
                    var x = content.Left + i % Columns * (cellWidth + ColumnGap);
                    var y = top + i / Columns * (cellHeight + RowGap);
                    Thumbnail(canvas, chunk[i], new SKRect(x, y, x + cellWidth, y + cellWidth));
                    Caption(canvas, chunk[i].Caption, x, y + cellWidth + CaptionGap, cellWidth);
                }
            };
        }
    }

    /// <summary>The image scaled to fit the square box (aspect kept, centred, standing on the box's bottom so that every
    /// caption sits right under its image); a grey placeholder if it cannot be read.</summary>
    private static void Thumbnail(SKCanvas canvas, ReportThumbnail thumbnail, SKRect box)
    {
        using var image = thumbnail.Jpeg.Length > 0 ? SKImage.FromEncodedData(thumbnail.Jpeg) : null;
        if (image is null)
        {
            using var fill = new SKPaint { Color = ReportColors.Tile, IsAntialias = true };
            canvas.DrawRoundRect(box, PlaceholderRadius, PlaceholderRadius, fill);
            ReportText.Draw(canvas, "image not available", box.MidX, box.MidY, PlaceholderStyle, SKTextAlign.Center);
            return;
        }
        var scale = Math.Min(box.Width / image.Width, box.Height / image.Height);
        var (width, height) = (image.Width * scale, image.Height * scale);
        var target = SKRect.Create(box.MidX - width / 2, box.Bottom - height, width, height);
        canvas.DrawImage(image, target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var frame = new SKPaint { Color = ReportColors.Rule, StrokeWidth = 0.5f, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(target, frame);
    }

    private static void Caption(SKCanvas canvas, string caption, float left, float top, float width)
    {
        var baseline = top + CaptionStyle.Size;
        foreach (var line in ReportText.Wrap(caption, CaptionStyle, width, MaxCaptionLines))
        {
            ReportText.Draw(canvas, line, left, baseline, CaptionStyle);
            baseline += CaptionStyle.LineHeight;
        }
    }
}
