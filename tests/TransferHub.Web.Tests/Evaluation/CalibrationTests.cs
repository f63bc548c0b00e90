using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Api;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Jobs;

namespace TransferHub.Web.Tests.Evaluation;

/// <summary>Calibration from the web's side (ADR 022), without a worker: the worker's temperature, reliability and
/// held-out confidences stored with the run, the "unknown" threshold chosen for the default target precision and again
/// when an editor sets another, shown in the run's API JSON, evaluation.json and the model card; who may change it.
/// Predict answering "unknown" with a real worker is in the integration tests.</summary>
public sealed class CalibrationTests(NoWorkerWebApp app) : IClassFixture<NoWorkerWebApp>, IAsyncLifetime, IDisposable
{
    private const string Backbone = "resnet18x3-imagenet";
    private static readonly string[] Classes = ["bag", "sandal"];
    private readonly ServiceScope _services = new(app);

    public async Task InitializeAsync() => await app.Service<JobScheduler>().StopAsync(CancellationToken.None);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _services.Dispose();

    private Task<(TeamScenario S, int DatasetId)> DatasetAsync() => app.ShoesAndBagsAsync(Classes);

    /// <summary>40 held-out predictions: 20 right at 0.995..0.900, then 20 at 0.69..0.50 alternately right and wrong (75 % in
    /// all). For 95 % precision the lowest threshold is 0.67 (23 answered, 22 right: 95.7 %); for 80 %, 0.55 (35 answered,
    /// 28 right: 80.0 %).</summary>
    private static List<HeldOutConfidence> HeldOut() =>
    [
        .. Enumerable.Range(0, 20).Select(i => new HeldOutConfidence(0.995 - i * 0.005, true)),
        .. Enumerable.Range(0, 20).Select(i => new HeldOutConfidence(0.69 - i * 0.01, i % 2 == 0)),
    ];

    private static RunCalibration Calibration()
    {
        var before = Reliability.Of([0.99, 0.97, 0.95, 0.91], [true, false, true, false]);
        var after = Reliability.Of([0.8, 0.7, 0.75, 0.6], [true, false, true, false]);
        return new RunCalibration(1.8, "validation", null, 40, 0.9, 0.52, before, after, HeldOut());
    }

    /// <summary>A run the scheduler handed to a (pretend) worker, which then reports it trained with <paramref name="calibration"/>.</summary>
    private async Task<int> TrainedAsync(TeamScenario s, int datasetId, RunCalibration? calibration)
    {
        var id = (await app.InScopeAsync(sp => sp.GetRequiredService<JobService>().LaunchAsync(s.EditorId, datasetId,
            JobSettings.ForMode(TrainingMode.FeatureExtraction, Backbone, 64))))[0];
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Starting).SetProperty(j => j.Attempt, 1));
        var events = app.Service<RunEventApplier>();
        await events.ApplyAsync(id, new RunStarted(1, "cpu", 12, 4, 4, 1026, 11_000_000, 3), CancellationToken.None);
        var evaluation = RunEvaluation.Compute("test", Classes, [("a".PadRight(64, '0'), 0, [0.8f, 0.2f]), ("b".PadRight(64, '0'), 1, [0.3f, 0.7f])]);
        Assert.Equal(Applied.Trained, await events.ApplyAsync(id, new RunTrained(2, evaluation, "model-1", 2, false, 3.5, null, calibration), CancellationToken.None));
        await using (var db = await app.DbAsync()) // the model copy is not what these tests are about
            await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Completed));
        return id;
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().Include(j => j.Logs).FirstAsync(j => j.Id == id);
    }

    [Fact]
    public async Task TheWorkersCalibrationIsStoredWithTheThresholdForTheDefaultTargetAndEveryFileStatesIt()
    {
        var (s, datasetId) = await DatasetAsync();
        var id = await TrainedAsync(s, datasetId, Calibration());

        var job = await JobAsync(id);
        Assert.Equal(1.8, RunCalibration.FromJson(job.CalibrationJson)!.Temperature);
        Assert.Null(job.TargetPrecision); // the default, 95 %
        Assert.Equal(0.67, job.RejectionThreshold!.Value, 9);

        var viewer = await app.ApiClientAsync(s.ViewerId);
        var calibration = (await (await viewer.GetAsync($"api/v1/jobs/{id}")).JsonAsync()).GetProperty("calibration");
        Assert.Equal(1.8, calibration.GetProperty("temperature").GetDouble());
        Assert.Equal("validation", calibration.GetProperty("fittedOn").GetString());
        Assert.Equal(0.95, calibration.GetProperty("targetPrecision").GetDouble());
        Assert.Equal(0.67, calibration.GetProperty("threshold").GetDouble(), 9);
        Assert.Equal(23 / 40.0, calibration.GetProperty("coverage").GetDouble(), 9);
        Assert.Equal(22 / 23.0, calibration.GetProperty("precision").GetDouble(), 9);
        Assert.Equal(40, calibration.GetProperty("heldOut").GetInt32());
        // Bin 14 holds 0.99, 0.97, 0.95 (2 of 3 right: |0.667 − 0.97| · 3/4), bin 13 holds 0.91 (wrong: 0.91 · 1/4).
        Assert.Equal(0.455, calibration.GetProperty("eceBefore").GetDouble(), 9);
        Assert.Contains("57.5 % coverage", calibration.GetProperty("thresholdMessage").GetString());

        using (var report = JsonDocument.Parse(await viewer.GetStringAsync($"api/v1/jobs/{id}/evaluation.json")))
        {
            var c = report.RootElement.GetProperty("calibration");
            Assert.Equal(1.8, c.GetProperty("temperature").GetDouble());
            Assert.Equal(0.67, c.GetProperty("threshold").GetDouble(), 9);
            Assert.Equal(15, c.GetProperty("binsAfter").GetArrayLength());
        }
        var card = await viewer.GetStringAsync($"api/v1/jobs/{id}/model-card.md");
        Assert.Contains("## Calibration", card);
        Assert.Contains("- Temperature: 1.8 (probabilities = softmax(logits / temperature)", card);
        Assert.Contains("\"Unknown\" threshold: 67.0 % for a target precision of 95.0 %", card);
        Assert.Contains("below 67.0 %, where TransferHub's predict answers \"unknown\"", card);
        var pdf = await viewer.GetAsync($"api/v1/jobs/{id}/report.pdf");
        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);

        // The model card inside model.zip states the temperature and the threshold too.
        await StoredRuns.StoreModelAsync(app, id);
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(await viewer.GetByteArrayAsync($"api/v1/jobs/{id}/model")));
        using var reader = new StreamReader(zip.GetEntry("model-card.json")!.Open());
        using var cardJson = JsonDocument.Parse(await reader.ReadToEndAsync());
        var cardCalibration = cardJson.RootElement.GetProperty("calibration");
        Assert.Equal(1.8, cardCalibration.GetProperty("temperature").GetDouble());
        Assert.Equal(0.67, cardCalibration.GetProperty("unknownThreshold").GetDouble(), 9);
        Assert.Equal(0.95, cardCalibration.GetProperty("targetPrecision").GetDouble());
    }

    [Fact]
    public async Task AnEditorSetsTheTargetPrecisionAndTheThresholdFollowsViewersAndOutsidersCannot()
    {
        var (s, datasetId) = await DatasetAsync();
        var id = await TrainedAsync(s, datasetId, Calibration());
        var editor = await app.ApiClientAsync(s.EditorId);

        var changed = await (await editor.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { targetPrecision = 0.8 })).JsonAsync();
        Assert.Equal(0.8, changed.GetProperty("targetPrecision").GetDouble());
        Assert.Equal(0.55, changed.GetProperty("threshold").GetDouble(), 9);
        Assert.Equal(35 / 40.0, changed.GetProperty("coverage").GetDouble(), 9);
        var job = await JobAsync(id);
        Assert.Equal((0.8, 0.55), (job.TargetPrecision!.Value, Math.Round(job.RejectionThreshold!.Value, 9)));

        // 99.9 %: only the 21 that are all right (the 20 sure ones and 0.69) are answered.
        var strict = await (await editor.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { targetPrecision = 0.999 })).JsonAsync();
        Assert.Equal(0.69, strict.GetProperty("threshold").GetDouble(), 9);
        Assert.Equal(21 / 40.0, strict.GetProperty("coverage").GetDouble(), 9);
        Assert.Equal(0.69, (await JobAsync(id)).RejectionThreshold!.Value, 9);

        Assert.Contains("between 50 % and 99.9 %", await (await editor.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { targetPrecision = 1.5 }))
            .ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("targetPrecision", await (await editor.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { target = 0.9 }))
            .ProblemAsync(HttpStatusCode.BadRequest));
        var viewer = await app.ApiClientAsync(s.ViewerId);
        await (await viewer.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { targetPrecision = 0.9 })).ProblemAsync(HttpStatusCode.Forbidden);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await outsider.PutJsonAsync($"api/v1/jobs/{id}/calibration", new { targetPrecision = 0.9 })).ProblemAsync(HttpStatusCode.NotFound);
        await (await outsider.PostBytesAsync($"api/v1/jobs/{id}/classify", TestFiles.Fashion("bag", 0), "image/png")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0.999, (await JobAsync(id)).TargetPrecision); // neither changed it

        // The same rule through the service the evaluation page uses.
        using var scope = app.Services.CreateScope();
        var evaluations = scope.ServiceProvider.GetRequiredService<EvaluationService>();
        await Assert.ThrowsAsync<ForbiddenException>(() => evaluations.SetTargetPrecisionAsync(s.ViewerId, id, 0.9));
        await Assert.ThrowsAsync<NotFoundException>(() => evaluations.SetTargetPrecisionAsync(s.OutsiderId, id, 0.9));
        var view = await evaluations.SetTargetPrecisionAsync(s.OwnerId, id, 0.95);
        Assert.Equal(0.67, view.Rejection.Threshold!.Value, 9);
        Assert.Equal(0.67, (await evaluations.GetAsync(s.ViewerId, id))!.Calibration!.Rejection.Threshold!.Value, 9);
    }

    [Fact]
    public async Task ARunWithoutCalibrationHasNoThresholdToSetAndSaysWhy()
    {
        var (s, datasetId) = await DatasetAsync();
        var old = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.8f)]);
        var editor = await app.ApiClientAsync(s.EditorId);

        Assert.Equal(JsonValueKind.Null, (await (await editor.GetAsync($"api/v1/jobs/{old}")).JsonAsync()).GetProperty("calibration").ValueKind);
        Assert.Contains("no calibration data", await (await editor.PutJsonAsync($"api/v1/jobs/{old}/calibration", new { targetPrecision = 0.9 }))
            .ProblemAsync(HttpStatusCode.Conflict));

        // Too few held-out images: stored, but no threshold, with the reason.
        var few = await TrainedAsync(s, datasetId, Calibration() with { HeldOut = [.. HeldOut().Take(8)] });
        var calibration = (await (await editor.GetAsync($"api/v1/jobs/{few}")).JsonAsync()).GetProperty("calibration");
        Assert.Equal(JsonValueKind.Null, calibration.GetProperty("threshold").ValueKind);
        Assert.Contains("Only 8 held-out", calibration.GetProperty("thresholdMessage").GetString());
    }

    [Theory]
    [InlineData(0.60, 0.61, true)]
    [InlineData(0.61, 0.61, false)] // at the threshold: answered
    [InlineData(0.30, null, false)] // no threshold: always answered
    public void PredictAnswersUnknownOnlyBelowTheThreshold(double top, double? threshold, bool unknown)
    {
        var result = PredictionResult.Of([new Prediction("bag", top), new Prediction("sandal", 1 - top)], threshold, 0.95, 1.7);

        Assert.Equal(unknown, result.Unknown);
        Assert.Equal(unknown ? "unknown" : "bag", result.Answer);
        Assert.Equal("bag", result.Top[0].ClassName); // the top class is still there
        Assert.Equal(threshold, result.Threshold);
        Assert.Equal(threshold is null ? null : 0.95, result.TargetPrecision);
    }
}
