using System.Text.RegularExpressions;
using SkiaSharp;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Features.Reports.Pdf;

namespace TransferHub.Web.Tests.Reports;

/// <summary>Class names in any script, and long ones, as the PDF draws them: every name findable in the text layer once
/// per table row, drawn with real glyphs (no .notdef boxes), right-to-left names in visual order, no two names cut to
/// the same label. Needs fonts-noto-core, fonts-noto-cjk and fonts-noto-color-emoji (.ci/run installs them).</summary>
public sealed partial class ReportNamesTests
{
    private static readonly TextStyle Style = new(24);

    public static TheoryData<string> ShortNames => ["猫", "狗", "חתול", "قطة", "🐱", "חתול 2024 גדול"];

    [Theory]
    [MemberData(nameof(ShortNames))]
    public void EveryNameIsShapedWithRealGlyphsOfAFaceThatHasThem(string name)
    {
        var line = ReportText.Shape(name, Style);

        Assert.NotEmpty(line.Runs);
        Assert.All(line.Runs, run => Assert.All(run.Glyphs, glyph => Assert.NotEqual(0, glyph))); // 0 is .notdef: a box
        Assert.True(line.Width > 0);
    }

    [Fact]
    public void ChineseAndEmojiFallBackToTheNotoFacesForThem()
    {
        Assert.Contains("CJK", Assert.Single(ReportText.Shape("猫", Style).Runs).Typeface.FamilyName);
        Assert.Contains("Emoji", Assert.Single(ReportText.Shape("🐱", Style).Runs).Typeface.FamilyName);
    }

    [Fact]
    public void RightToLeftNamesAreOrderedVisuallyWithTheirNumbersLeftToRight()
    {
        var hebrew = Assert.Single(ReportText.Shape("חתול", Style).Runs);
        Assert.True(hebrew.RightToLeft);
        Assert.True(hebrew.Clusters[0] > hebrew.Clusters[^1], "the first glyph drawn (leftmost) is the word's last letter");

        var mixed = ReportText.Shape("חתול 2024 גדול", Style).Runs;
        Assert.Equal([" גדול", "2024", "חתול "], mixed.Select(r => r.Text));
        Assert.Equal([true, false, true], mixed.Select(r => r.RightToLeft));

        var latin = ReportText.Shape("cat 2024 (v2)", Style).Runs;
        Assert.Equal(["cat 2024 (v2)"], latin.Select(r => r.Text));
    }

    [Fact]
    public void ArabicLettersJoin()
    {
        // Joined letters use their initial/medial/final forms: other glyphs than the same letters standing alone.
        var joined = Assert.Single(ReportText.Shape("قطة", Style).Runs).Glyphs;
        var isolated = "قطة".Select(c => Assert.Single(ReportText.Shape(c.ToString(), Style).Runs).Glyphs.Single()).Reverse().ToArray();
        Assert.Equal(3, joined.Length);
        Assert.NotEqual(isolated, joined);
    }

    [Theory]
    [MemberData(nameof(ShortNames))]
    public void TheNameInThePdfLooksLikeTheShapedNameAndNotLikeAnother(string name)
    {
        using var pdf = new RenderedPdf(OneNamePdf(name));
        using var page = Assert.Single(pdf.RenderPages(dpi: 144));
        using var reference = Reference(name, scale: 2);
        using var other = Reference(name == "猫" ? "狗" : "猫", scale: 2);

        var ink = RenderedPdf.InkShare(page);
        Assert.InRange(ink, 0.01, 0.5);
        var same = Difference(page, reference);
        Assert.True(same < 0.02, $"the PDF's {name} differs from its shaped reference in {same:P1} of its pixels");
        var another = Difference(page, other);
        Assert.True(another > 3 * same && another > 0.005, $"the PDF's {name} looks like another name ({another:P2} apart, {same:P2} from its own)");
    }

    [Fact]
    public void EveryTableRowHoldsItsNameOnceInTheTextLayer()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Multilingual()));

        var table = Assert.Single(pdf.PageTexts(), p => p.Contains("Per-class metrics"));
        var cells = NameCells(table);
        string[] expected = [.. ReportSamples.MultilingualClasses, "macro avg", "weighted avg"];
        Assert.Equal(expected.Length, cells.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] == "חתול 2024 גדול") // poppler gives right-to-left text in visual order
            {
                Assert.Matches(@"^גדול\s*2024\s*חתול$", cells[i]);
                continue;
            }
            Assert.Equal(expected[i], cells[i]);
        }
    }

    [Fact]
    public void LongNamesThatDifferAtTheEndStayDifferentInTheTableAndTheMatrix()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Multilingual()));
        var pages = pdf.PageTexts();

        var table = Flat(Assert.Single(pages, p => p.Contains("Per-class metrics")));
        Assert.DoesNotContain("…", table);
        var matrix = Assert.Single(pages, p => p.Contains("Confusion matrix") && !p.Contains("classes"));
        var labels = Regex.Matches(matrix, @"Pseudomonas[^\n]*?type [AB]|#\d+").Select(m => m.Value).ToList();
        Assert.NotEmpty(labels);
        Assert.DoesNotMatch(@"(?m)^\s*Pseudomonas aeruginosa clin…\s*$", matrix);
        if (labels[0].StartsWith('#')) // numbered axes: the legend names every class in full
        {
            var legend = Flat(Assert.Single(pages, p => p.Contains("Confusion matrix: classes")));
            Assert.Contains(ReportSamples.LongName("type A"), legend);
            Assert.Contains(ReportSamples.LongName("type B"), legend);
        }
        else
        {
            Assert.Contains(labels, l => l.EndsWith("type A", StringComparison.Ordinal));
            Assert.Contains(labels, l => l.EndsWith("type B", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void NamesThatDifferOnlyInTheMiddleNumberTheMatrixAndALegendPageNamesEveryNumber()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.MiddleDifferent()));
        var pages = pdf.PageTexts();

        var matrix = Assert.Single(pages, p => p.Contains("Confusion matrix") && !p.Contains("Confusion matrix: classes"));
        Assert.Contains("numbered", matrix);
        Assert.Matches(@"#1\s+23\s+1\s+1", matrix);
        Assert.Matches(@"#2\s+3\s+16\s+1", matrix);
        Assert.Matches(@"#3\s+2\s+1\s+14", matrix);
        Assert.DoesNotContain("Pseudomonas", matrix);
        var legendIndex = pages.ToList().FindIndex(p => p.Contains("Confusion matrix: classes"));
        Assert.True(legendIndex > 0 && pages[legendIndex - 1] == matrix, "the legend follows the matrix");
        var legend = Flat(pages[legendIndex]);
        for (var i = 0; i < ReportSamples.MiddleDifferentClasses.Length; i++)
            Assert.Contains($"#{i + 1} {ReportSamples.MiddleDifferentClasses[i]}", legend);
    }

    /// <summary>The name column of the per-class table: each row's text before its numbers plus its wrapped lines,
    /// with poppler's bidi marks taken out.</summary>
    private static List<string> NameCells(string table)
    {
        var cells = new List<string>();
        var inRow = false;
        foreach (var raw in table.Split('\n'))
        {
            var line = BidiMarks().Replace(raw, "");
            if (RowLine().Match(line) is { Success: true } row)
            {
                cells.Add(row.Groups[1].Value.Trim());
                inRow = true;
            }
            else if (inRow && line.Trim().Length > 0 && !line.Contains("scikit-learn") && !line.Contains("TransferHub ·"))
                cells[^1] = $"{cells[^1]} {line.Trim()}";
            else
                inRow = false;
        }
        return cells;
    }

    private static string Flat(string text) => Regex.Replace(BidiMarks().Replace(text, ""), @"\s+", " ");

    private static byte[] OneNamePdf(string name)
    {
        using var stream = new MemoryStream();
        using (var document = SKDocument.CreatePdf(stream, SKDocumentPdfMetadata.Default))
        {
            var canvas = document.BeginPage(Width, Height);
            ReportText.Draw(canvas, name, 10, 34, Style);
            document.EndPage();
            document.Close();
        }
        return stream.ToArray();
    }

    private const int Width = 240;
    private const int Height = 48;

    /// <summary>The reference: the shaper's glyphs and positions for the name (<see cref="ReportText.Shape"/>) drawn by
    /// Skia straight onto pixels, not through <see cref="ReportText.Draw"/> or the PDF: what the page should show.</summary>
    private static SKBitmap Reference(string name, int scale)
    {
        var bitmap = new SKBitmap(Width * scale, Height * scale);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        canvas.Scale(scale);
        using var builder = new SKTextBlobBuilder();
        var fonts = new List<SKFont>();
        foreach (var run in ReportText.Shape(name, Style).Runs)
        {
            var font = new SKFont(run.Typeface, Style.Size)
            {
                Subpixel = true, LinearMetrics = true, Hinting = SKFontHinting.None, Edging = SKFontEdging.Antialias,
            };
            fonts.Add(font);
            builder.AddPositionedRun(run.Glyphs, font, run.Positions);
        }
        using (var blob = builder.Build())
        using (var paint = new SKPaint { Color = ReportColors.Ink, IsAntialias = true })
            canvas.DrawText(blob, 10, 34, paint);
        fonts.ForEach(f => f.Dispose());
        return bitmap;
    }

    /// <summary>The share of pixels where one image has ink and the other has none.</summary>
    private static double Difference(SKBitmap a, SKBitmap b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        var differing = 0;
        for (var y = 0; y < a.Height; y++)
            for (var x = 0; x < a.Width; x++)
                if (Inked(a.GetPixel(x, y)) != Inked(b.GetPixel(x, y)))
                    differing++;
        return (double)differing / (a.Width * a.Height);
    }

    private static bool Inked(SKColor c) => c.Red + c.Green + c.Blue < 3 * 160;

    [GeneratedRegex(@"^\s*(\S.*?)\s+(?:\d\.\d{3}\s+){3}\d+\s*$")]
    private static partial Regex RowLine();

    [GeneratedRegex("[\u200E\u200F\u202A-\u202E\u2066-\u2069]")]
    private static partial Regex BidiMarks();
}
