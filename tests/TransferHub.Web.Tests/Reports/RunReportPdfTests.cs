using System.Text.RegularExpressions;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Features.Reports;

namespace TransferHub.Web.Tests.Reports;

/// <summary>The PDF as poppler reads it: real text, the right pages, every page rendering.</summary>
public sealed class RunReportPdfTests
{
    private const string Footer = "TransferHub · Run #12 · resnet18x3-imagenet · fine-tune";

    [Fact]
    public void TheSummaryPageShowsTheRunItsDatasetVersionAndAccuracyAsText()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var summary = pdf.PageTexts()[0];
        Assert.Contains("Run #12 · resnet18x3-imagenet · fine-tune", summary);
        Assert.Contains("Vision Lab · Office objects · pets-and-things", summary);
        Assert.Contains("85.5%", summary); // 53 of 62
        var flat = Regex.Replace(summary, @"\s+", " ");
        Assert.Contains("85.5% 84.8% 0.853 test", flat); // accuracy, balanced accuracy, macro F1, split
        Assert.Contains("accuracy balanced accuracy (macro macro F1 (every class evaluated split recall) counts the same)", flat);
        Assert.DoesNotContain("Accuracy is high", summary); // they agree: no warning
        Assert.Contains("0.4187", summary);
        Assert.Contains("4 of 5", summary);
        Assert.Contains(ReportSamples.DatasetVersion[..12] + "…", summary);
        Assert.Contains(ReportSamples.DatasetVersion, summary);
        Assert.Contains("2026-11-28 14:03:12 UTC", summary);
        Assert.Contains("2026-11-28 14:21:40 UTC", summary);
        Assert.Contains("18 min 13 s", summary);
        Assert.Contains("62 images, 9 misclassified (14.5%)", summary);
        Assert.Matches(@"backbone_lr_multiplier\s+0\.1", summary);
        Assert.Matches(@"seed\s+42", summary);
    }

    [Fact]
    public void ThePerClassTableHasThreeDecimalsForEveryClassAndBothAverages()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var table = Assert.Single(pdf.PageTexts(), p => p.Contains("Per-class metrics"));
        Assert.Matches(Row("cat", "0.821", "0.920", "0.868", "25"), table);
        Assert.Matches(Row("coffee, espresso", "0.889", "0.800", "0.842", "20"), table);
        Assert.Matches(Row("astronaut", "0.875", "0.824", "0.848", "17"), table);
        Assert.Matches(Row("macro avg", "0.862", "0.848", "0.853", "62"), table);
        Assert.Matches(Row("weighted avg", "0.858", "0.855", "0.854", "62"), table);
        var flat = Regex.Replace(table, @"\s+", " ");
        Assert.Contains(ClassificationMetrics.Conventions, flat); // under the table, after the averages
        Assert.True(flat.IndexOf(ClassificationMetrics.Conventions, StringComparison.Ordinal) > flat.IndexOf("weighted avg", StringComparison.Ordinal));
    }

    [Fact]
    public void EverySectionHasItsPageAndEveryPageItsFooter()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var pages = pdf.PageTexts();
        Assert.Equal(5, pdf.PageCount);
        Assert.Equal(5, pages.Count);
        Assert.Contains("Training curves", pages[1]);
        Assert.Contains("Per-class metrics", pages[2]);
        Assert.Contains("Confusion matrix", pages[3]);
        Assert.Contains("Misclassified images (4)", pages[4]);
        Assert.Contains("cat → astronaut (71.2%)", pages[4]);
        for (var i = 0; i < pages.Count; i++)
        {
            Assert.Contains(Footer, pages[i]);
            Assert.Contains($"Page {i + 1} of 5", pages[i]);
        }
    }

    [Fact]
    public void TheTrainingDoctorsFindingsGetTheirOwnSectionWithTheirNumbersAndAdviceAndTheSummaryCountsThem()
    {
        var report = ReportSamples.Standard() with
        {
            Findings =
            [
                new("overfitting", "warning", "Overfitting", "Training accuracy 100 % vs validation 71 % in epoch 9 (a gap of 29 points).",
                    new Dictionary<string, double> { ["gap"] = 0.29 }, "Turn on early stopping, add augmentation or images."),
                new("upscaled", "info", "Images upscaled", "The network sees 224 px but the images' median shorter side is 28 px.",
                    new Dictionary<string, double> { ["factor"] = 8 }, "Try an image size closer to the pictures' own (e.g. 64 px)."),
            ],
        };

        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(report));
        using var healthy = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var pages = pdf.PageTexts();
        Assert.Equal(6, pages.Count);
        var doctor = Regex.Replace(pages[2], @"\s+", " ");
        Assert.Contains("Training doctor", doctor);
        Assert.Contains("WARNING Overfitting Training accuracy 100 % vs validation 71 % in epoch 9 (a gap of 29 points).", doctor);
        Assert.Contains("What to do: Turn on early stopping, add augmentation or images.", doctor);
        Assert.Contains("INFO Images upscaled", doctor);
        Assert.True(doctor.IndexOf("Overfitting", StringComparison.Ordinal) < doctor.IndexOf("Images upscaled", StringComparison.Ordinal));
        Assert.Contains("2 findings: Overfitting (warning); Images upscaled (info) (see Training doctor)", Regex.Replace(pages[0], @"\s+", " "));
        Assert.DoesNotContain("Training doctor", string.Concat(healthy.PageTexts())); // no empty section, no row to push a page over
        Assert.Equal(5, healthy.PageCount);
        Assert.Contains("\"rule\": \"overfitting\"", RunReportRenderer.Json(report));
    }

    [Fact]
    public void TheConfusionMatrixNamesEveryClassAndShowsItsCounts()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var matrix = Assert.Single(pdf.PageTexts(), p => p.Contains("Confusion matrix"));
        foreach (var name in ReportSamples.Standard().ClassNames)
            Assert.Contains(name, matrix);
        Assert.Matches(@"cat\s+23\s+1\s+1", matrix);
        Assert.Matches(@"coffee, espresso\s+3\s+16\s+1", matrix);
        Assert.Matches(@"astronaut\s+2\s+1\s+14", matrix);
    }

    [Fact]
    public void EveryPageRendersWithInkButIsNotBlackedOut()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var pages = pdf.RenderPages(dpi: 50);
        Assert.Equal(5, pages.Count);
        Assert.All(pages, page =>
        {
            Assert.InRange(page.Width, 400, 420); // A4 portrait at 50 dpi: 413 × 585
            Assert.InRange(page.Height, 575, 595);
            Assert.InRange(RenderedPdf.InkShare(page), 0.01, 0.6);
            page.Dispose();
        });
    }

    [Fact]
    public void OneEpochWithoutValidationTwentyLongClassNamesAndAnEmptyClassStillReadWell()
    {
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.ManyClasses(20)));

        var pages = pdf.PageTexts();
        Assert.Equal(4, pdf.PageCount); // summary, curves, table, matrix: no thumbnails chosen, no page for them
        var text = string.Concat(pages);
        Assert.DoesNotContain("NaN", text);
        Assert.DoesNotContain("Misclassified images", text);
        Assert.Contains("1 of 1", pages[0]);
        Assert.Contains("validation: not recorded", pages[1]);
        Assert.Matches(@"0\.788\s+validation\n", pages[0]);

        var table = pages[2];
        Assert.Matches(@"Class 05 — a deliberately long[^\n]*?\s+0\.000\s+0\.000\s+0\.000\s+0\n", table);
        for (var i = 1; i <= 20; i++) // wrapped onto a second line, not cut
        {
            Assert.Contains($"Class {i:00} — a deliberately long", table);
            Assert.Matches($@"name number {i}\n", table);
        }
        Assert.DoesNotContain("…", table);
        Assert.Contains(ClassificationMetrics.Conventions, Regex.Replace(table, @"\s+", " "));

        var matrix = pages[3];
        Assert.Contains("Confusion matrix", matrix);
        Assert.Matches(@"Class 20 — a…[^\n]*number 20", matrix); // start and end kept: no two labels the same
        Assert.DoesNotContain("category name number", matrix);

        using var rendered = pdf.RenderPages(dpi: 50)[3];
        Assert.InRange(RenderedPdf.InkShare(rendered), 0.05, 0.6);
    }

    [Fact]
    public void AMatrixTooBigForOnePageContinuesInTilesThatCoverEveryClass()
    {
        const int classes = 40;
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.ManyClasses(classes)));

        var tiles = pdf.PageTexts().Where(p => p.Contains("Confusion matrix")).ToList();
        Assert.True(tiles.Count >= 4, $"expected the matrix on at least 4 pages, got {tiles.Count}");
        for (var part = 1; part <= tiles.Count; part++)
            Assert.Contains($"Confusion matrix (part {part} of {tiles.Count})", tiles[part - 1]);
        Assert.Contains(tiles, t => t.Contains($"predicted class (1–") && t.Contains($" of {classes})"));
        for (var i = 1; i <= classes; i++)
            Assert.Contains(tiles, t => t.Contains($"Class {i:00} — "));
        Assert.Equal(pdf.PageCount, pdf.PageTexts().Count);
    }

    [Fact]
    public void HyperparametersThatDoNotFitContinueOnTheirOwnPage()
    {
        var report = ReportSamples.Standard() with
        {
            Hyperparameters = [.. Enumerable.Range(1, 40).Select(i => new KeyValuePair<string, string>($"setting_{i:00}", $"value {i}"))],
        };
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(report));

        var pages = pdf.PageTexts();
        Assert.Equal(6, pages.Count);
        Assert.Contains("Hyperparameters (continued)", pages[1]);
        var all = pages[0] + pages[1];
        for (var i = 1; i <= 40; i++)
            Assert.Matches($@"setting_{i:00}\s+value {i}\b", all);
        Assert.Contains("Training curves", pages[2]);
    }

    [Fact]
    public void AnUnreadableThumbnailBecomesAPlaceholderInsteadOfFailingTheReport()
    {
        var report = ReportSamples.Standard() with { Misclassified = [new ReportThumbnail([1, 2, 3], "cat → astronaut (51.0%)")] };

        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(report));

        var last = pdf.PageTexts()[^1];
        Assert.Contains("image not available", last);
        Assert.Contains("cat → astronaut (51.0%)", last);
    }

    [Fact]
    public void FontsAreEmbeddedAsSubsetsSoAReportStaysSmall()
    {
        // Whole DejaVu Sans and DejaVu Sans Bold made every report about 0.8 MB; their subsets take a few kB. The
        // standard report's four JPEG thumbnails are about 40 kB.
        Assert.InRange(RunReportRenderer.Pdf(ReportSamples.Standard()).Length, 10_000, 150_000);
        Assert.InRange(RunReportRenderer.Pdf(ReportSamples.Multilingual()).Length, 10_000, 150_000); // + CJK, Hebrew, Arabic, emoji
    }

    [Fact]
    public void TheSameReportRendersToTheSameBytes()
    {
        // The document's dates are the run's, not the clock's: a stored report can be cached and compared.
        Assert.Equal(RunReportRenderer.Pdf(ReportSamples.Standard()), RunReportRenderer.Pdf(ReportSamples.Standard()));
    }

    private static Regex Row(string name, string precision, string recall, string f1, string support) =>
        new($@"{Regex.Escape(name)}\s+{Regex.Escape(precision)}\s+{Regex.Escape(recall)}\s+{Regex.Escape(f1)}\s+{support}\b");
}
