using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Jobs;

namespace TransferHub.Web.Tests.Api;

/// <summary><c>PATCH /api/v1/jobs/{id}</c> (name, notes, tags, star) and what the job JSON says about a run's number,
/// its parameters and its feature extraction.</summary>
public sealed class RunLabelsApiTests(JobsApiTests.NoWorker app) : IClassFixture<JobsApiTests.NoWorker>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, string url, string json) =>
        client.PatchAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    private async Task<(TeamScenario S, int First, int Second)> RunsAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes");
        var first = await StoredRuns.CompletedAsync(app, datasetId, 1, [(0, 0.9f), (1, 0.3f)]);
        var second = await StoredRuns.CompletedAsync(app, datasetId, 2, [(0, 0.9f), (1, 0.8f)]);
        return (s, first, second);
    }

    [Fact]
    public async Task EditorsPatchNameNotesTagsAndStarAndTheJobJsonShowsThemWithTheRunsNumber()
    {
        var (s, first, second) = await RunsAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var job = await (await PatchAsync(editor, $"api/v1/jobs/{second}",
            """{ "name": "  Probe 64 px ", "notes": "cached features", "tags": ["baseline", " probe "], "pinned": true }""")).JsonAsync();

        Assert.Equal(second, job.GetProperty("id").GetInt32());
        Assert.Equal(2, job.GetProperty("number").GetInt32());
        Assert.Equal("Probe 64 px", job.GetProperty("name").GetString());
        Assert.Equal("cached features", job.GetProperty("notes").GetString());
        Assert.Equal(["baseline", "probe"], job.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.True(job.GetProperty("pinned").GetBoolean());

        // Left out: unchanged; null: cleared.
        job = await (await PatchAsync(editor, $"api/v1/jobs/{second}", """{ "notes": null }""")).JsonAsync();
        Assert.Equal("Probe 64 px", job.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("notes").ValueKind);

        // The list carries the number, name, tags and star too.
        var list = await (await editor.GetAsync($"api/v1/projects/{s.ProjectId}/jobs")).JsonAsync();
        var listed = list.EnumerateArray().Single(j => j.GetProperty("id").GetInt32() == second);
        Assert.Equal((2, "Probe 64 px", true), (listed.GetProperty("number").GetInt32(), listed.GetProperty("name").GetString(), listed.GetProperty("pinned").GetBoolean()));
        Assert.Equal(1, list.EnumerateArray().Single(j => j.GetProperty("id").GetInt32() == first).GetProperty("number").GetInt32());
    }

    [Fact]
    public async Task BadValuesAre400ByFieldADuplicateNameIs409ViewersGet403AndOutsiders404()
    {
        var (s, first, second) = await RunsAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        await (await PatchAsync(editor, $"api/v1/jobs/{first}", """{ "name": "Baseline" }""")).JsonAsync();

        var bad = await (await PatchAsync(editor, $"api/v1/jobs/{second}",
            """{ "tags": ["a", "A"], "pinned": "yes", "colour": "red", "name": 5 }""")).JsonAsync(HttpStatusCode.BadRequest);
        var errors = bad.GetProperty("errors");
        Assert.Equal(["colour", "name", "pinned"], errors.EnumerateObject().Select(e => e.Name).Order());
        Assert.Contains("Unknown field \"colour\"", errors.GetProperty("colour")[0].GetString());
        var tags = await (await PatchAsync(editor, $"api/v1/jobs/{second}", """{ "tags": ["a", "A"] }""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("given twice", tags.GetProperty("errors").GetProperty("tags")[0].GetString());
        var detail = await (await PatchAsync(editor, $"api/v1/jobs/{second}", """{ "name": "BASELINE" }""")).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("Run #1 of this project is already called", detail);

        var viewer = await app.ApiClientAsync(s.ViewerId);
        await (await PatchAsync(viewer, $"api/v1/jobs/{second}", """{ "pinned": true }""")).ProblemAsync(HttpStatusCode.Forbidden);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await PatchAsync(outsider, $"api/v1/jobs/{second}", """{ "pinned": true }""")).ProblemAsync(HttpStatusCode.NotFound);

        await using var db = await app.DbAsync();
        var stored = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == second);
        Assert.Equal((null, null, false), (stored.Name, stored.TagsJson, stored.Pinned));
    }

    [Fact]
    public async Task TheJobJsonSeparatesFeatureExtractionFromHeadTrainingAndTrainableFromTotalParameters()
    {
        var (s, first, _) = await RunsAsync();
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == first).ExecuteUpdateAsync(u => u
                .SetProperty(j => j.TrainableParameters, 3_078).SetProperty(j => j.TotalParameters, 15_900_000)
                .SetProperty(j => j.FeatureImagesCached, 250).SetProperty(j => j.FeatureImagesComputed, 36)
                .SetProperty(j => j.FeatureExtractionSeconds, 4.5).SetProperty(j => j.TrainingSeconds, 5.0));
        var viewer = await app.ApiClientAsync(s.ViewerId);

        var job = await (await viewer.GetAsync($"api/v1/jobs/{first}")).JsonAsync();

        Assert.Equal((3_078L, 15_900_000L), (job.GetProperty("trainableParameters").GetInt64(), job.GetProperty("totalParameters").GetInt64()));
        var features = job.GetProperty("featureExtraction");
        Assert.Equal((286, 250, 36), (features.GetProperty("images").GetInt32(), features.GetProperty("cachedImages").GetInt32(),
            features.GetProperty("computedImages").GetInt32()));
        Assert.Equal(8.0, features.GetProperty("imagesPerSecond").GetDouble(), 6);
        Assert.Equal(0.5, features.GetProperty("headSeconds").GetDouble(), 6);
    }
}
