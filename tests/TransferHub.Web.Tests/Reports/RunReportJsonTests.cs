using System.Globalization;
using System.Text.Json;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Features.Reports;

namespace TransferHub.Web.Tests.Reports;

public sealed class RunReportJsonTests
{
    [Fact]
    public void JsonReadsBackToTheSameReportWithoutTheThumbnailBytes()
    {
        var report = ReportSamples.Standard();

        var json = RunReportRenderer.Json(report);
        var back = JsonSerializer.Deserialize<ReportJson.Document>(json, ReportJson.Options)!;

        Assert.Equal(1, back.SchemaVersion);
        Assert.Equal((report.Title, report.TeamName, report.ProjectName, report.DatasetName, report.DatasetVersion),
            (back.Title, back.TeamName, back.ProjectName, back.DatasetName, back.DatasetVersion));
        Assert.Equal((report.CreatedAtUtc, report.FinishedAtUtc, report.TrainingSeconds, report.EvaluatedSplit),
            (back.CreatedAtUtc, back.FinishedAtUtc, back.TrainingSeconds, back.EvaluatedSplit));
        Assert.Equal(DateTimeKind.Utc, back.CreatedAtUtc.Kind);
        Assert.Equal((report.Accuracy, report.Loss, report.BestEpoch, report.StoppedEarly),
            (back.Accuracy, back.Loss, back.BestEpoch, back.StoppedEarly));
        Assert.Equal(report.Hyperparameters.Select(h => (h.Key, h.Value)), back.Hyperparameters.Select(h => (h.Name, h.Value)));
        Assert.Equal(report.Epochs, back.Epochs);
        Assert.Equal(report.ClassNames, back.ClassNames);
        Assert.Equal(report.PerClass, back.PerClass);
        Assert.Equal((report.MacroAverage, report.WeightedAverage), (back.MacroAverage, back.WeightedAverage));
        Assert.Equal(report.Confusion, back.Confusion);
        Assert.Equal(report.Predictions,
            back.Predictions.Select(p => new ReportPrediction(p.Sha256, p.OriginalName, p.TrueClass, p.PredictedClass, p.Confidence)));
        Assert.Equal(report.Predictions.Select(p => p.TrueClass == p.PredictedClass), back.Predictions.Select(p => p.Correct));
        Assert.Equal(report.Misclassified.Select(t => t.Caption), back.Misclassified.Select(t => t.Caption));
        Assert.DoesNotContain(Convert.ToBase64String(report.Misclassified[0].Jpeg)[..40], json);
    }

    [Fact]
    public void JsonHasCamelCaseFieldsInAStableOrderAndInvariantNumbers()
    {
        var report = ReportSamples.Standard();
        var culture = CultureInfo.CurrentCulture;
        string json;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            json = RunReportRenderer.Json(report);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        Assert.Equal(json, RunReportRenderer.Json(report));
        using var document = JsonDocument.Parse(json);
        Assert.Equal(
        [
            "schemaVersion", "title", "teamName", "projectName", "datasetName", "datasetVersion", "createdAtUtc",
            "finishedAtUtc", "trainingSeconds", "evaluatedSplit", "accuracy", "loss", "bestEpoch", "stoppedEarly",
            "hyperparameters", "epochs", "classNames", "perClass", "macroAverage", "weightedAverage", "metricsConventions",
            "confusion",
            "predictions", "misclassified", "leaderboard", "findings", "calibration",
        ], document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("leaderboard").ValueKind); // not an auto run
        Assert.Equal(["name", "value"], document.RootElement.GetProperty("hyperparameters")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["epoch", "trainLoss", "trainAccuracy", "valLoss", "valAccuracy"],
            document.RootElement.GetProperty("epochs")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["sha256", "originalName", "trueClass", "predictedClass", "confidence", "correct"],
            document.RootElement.GetProperty("predictions")[0].EnumerateObject().Select(p => p.Name));
        Assert.Contains("\"accuracy\": 0.8548387096774194,", json);
        Assert.Contains("\"createdAtUtc\": \"2026-11-28T14:03:12Z\",", json);
        Assert.Contains("\"coffee, espresso\"", json);
        Assert.Equal(ClassificationMetrics.Conventions, document.RootElement.GetProperty("metricsConventions").GetString());
        Assert.DoesNotContain('\r', json);
    }

    [Fact]
    public void JsonKeepsClassAndFileNamesThatLookLikeFormulasExactly()
    {
        var report = ReportSamples.Formulas();

        var json = RunReportRenderer.Json(report);
        var back = JsonSerializer.Deserialize<ReportJson.Document>(json, ReportJson.Options)!;

        Assert.Equal(["=1+2", "@SUM(1+1)", "+3-1", "-4+1", "\tHYPERLINK(\"x\")", "\r=2*3"], back.ClassNames);
        Assert.Equal(ReportSamples.FormulaClasses, back.PerClass.Select(r => r.ClassName));
        Assert.Equal(ReportSamples.FormulaFileNames, back.Predictions.Take(ReportSamples.FormulaFileNames.Length).Select(p => p.OriginalName));
        Assert.Equal(report.Predictions.Select(p => (p.TrueClass, p.PredictedClass)), back.Predictions.Select(p => (p.TrueClass, p.PredictedClass)));
        Assert.Contains("\"=1+2\"", json);
        Assert.DoesNotContain("'=", json);
    }

    [Fact]
    public void MissingValuesAreNullsAndANaNLossDoesNotBreakTheReport()
    {
        var report = ReportSamples.ManyClasses(20) with
        {
            Loss = double.NaN,
            FinishedAtUtc = null,
            CreatedAtUtc = DateTime.SpecifyKind(new DateTime(2026, 11, 28, 9, 0, 0), DateTimeKind.Unspecified),
        };

        using var document = JsonDocument.Parse(RunReportRenderer.Json(report));

        var root = document.RootElement;
        Assert.Equal("NaN", root.GetProperty("loss").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("finishedAtUtc").ValueKind);
        Assert.Equal("2026-11-28T09:00:00Z", root.GetProperty("createdAtUtc").GetString());
        var epoch = Assert.Single(root.GetProperty("epochs").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, epoch.GetProperty("valLoss").ValueKind);
        Assert.Equal(JsonValueKind.Null, epoch.GetProperty("valAccuracy").ValueKind);
        var empty = root.GetProperty("perClass")[4];
        Assert.Equal((0d, 0d, 0),
            (empty.GetProperty("recall").GetDouble(), empty.GetProperty("f1").GetDouble(), empty.GetProperty("support").GetInt32()));
    }
}
