using System.Text.Json;
using System.Text.RegularExpressions;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Features.Reports;

namespace TransferHub.Web.Tests.Reports;

/// <summary>A calibrated run's report (ADR 022): a "Calibration" page with the temperature, the ECE before and after,
/// the "unknown" threshold and the reliability diagram; evaluation.json carries the same in <c>calibration</c>.</summary>
public sealed class CalibrationReportTests
{
    /// <summary>The standard sample with an overconfident model's reliability (before) and a calibrated one's (after).</summary>
    public static RunReport Calibrated()
    {
        // 60 images right with probability q (0.40..0.99, a low-discrepancy sequence decides); the model said 1 − (1 − q) / 3.
        var q = Enumerable.Range(0, 60).Select(i => 0.4 + i * 0.01).ToList();
        var correct = q.Select((p, i) => (i * 0.6180339887) % 1 < p).ToList();
        var before = Reliability.Of([.. q.Select(p => 1 - (1 - p) / 3)], correct);
        var after = Reliability.Of(q, correct);
        return ReportSamples.Standard() with
        {
            Calibration = new ReportCalibration(1.8, "validation", "40 validation images", null, before.Ece, after.Ece, before.Bins, after.Bins,
                0.95, 0.67, 0.575, 22 / 23.0, "Below 67.0 % confidence Predict answers \"unknown\": on the 40 held-out predictions that answers 23 (57.5 % coverage) with 95.7 % precision (target 95.0 %)."),
        };
    }

    [Fact]
    public void ThePdfHasACalibrationPageWithTheTemperatureTheErrorsTheThresholdAndTheDiagram()
    {
        var report = Calibrated();
        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(report));
        using var plain = new RenderedPdf(RunReportRenderer.Pdf(ReportSamples.Standard()));

        var pages = pdf.PageTexts();
        var page = Assert.Single(pages, p => p.Contains("How far the model's confidence can be trusted"));
        var flat = Regex.Replace(page, @"\s+", " ");
        Assert.Contains("Temperature 1.8 fitted on 40 validation images", flat);
        Assert.Contains($"{report.Calibration!.EceBefore * 100:0.0}% before (T = 1), {report.Calibration.EceAfter * 100:0.0}% after", flat);
        Assert.Contains("\"Unknown\" below 67.0%", flat);
        Assert.Contains("after (T = 1.8)", flat);
        Assert.Contains("accuracy", flat);
        Assert.Equal(plain.PageCount + 1, pdf.PageCount);
        Assert.DoesNotContain(plain.PageTexts(), p => p.Contains("How far the model's confidence can be trusted"));
        // The diagram is drawn: the page carries clearly more ink than its text alone would.
        var index = pages.ToList().IndexOf(page);
        Assert.True(RenderedPdf.InkShare(pdf.RenderPages(dpi: 40)[index]) > 0.03, "the calibration page is nearly blank");
    }

    [Fact]
    public void EvaluationJsonCarriesTheCalibration()
    {
        using var json = JsonDocument.Parse(RunReportRenderer.Json(Calibrated()));
        var c = json.RootElement.GetProperty("calibration");
        Assert.Equal(1.8, c.GetProperty("temperature").GetDouble());
        Assert.Equal("validation", c.GetProperty("fittedOn").GetString());
        Assert.Equal(0.67, c.GetProperty("threshold").GetDouble());
        Assert.Equal(0.95, c.GetProperty("targetPrecision").GetDouble());
        Assert.Equal(15, c.GetProperty("binsBefore").GetArrayLength());
        Assert.Equal(60, c.GetProperty("binsAfter").EnumerateArray().Sum(b => b.GetProperty("count").GetInt32()));
        using var plain = JsonDocument.Parse(RunReportRenderer.Json(ReportSamples.Standard()));
        Assert.Equal(JsonValueKind.Null, plain.RootElement.GetProperty("calibration").ValueKind);
    }
}
