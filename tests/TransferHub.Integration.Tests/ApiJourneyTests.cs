using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Api;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>The automation API end to end with a real worker: what a script does from a token to a prediction.</summary>
public sealed class ApiJourneyTests(ITestOutputHelper output) : HostedTest(output)
{
    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static ByteArrayContent Body(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    [Fact]
    public async Task AScriptUploadsAZipTrainsFollowsTheRunDownloadsTheModelAndReportAndClassifiesAnImage()
    {
        var web = Keep(new WebHost(NewWorker()));
        var user = await web.CreateAdminAsync();
        var (teamId, projectId, secret) = await web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Colours");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Colours", null);
            var token = await s.GetRequiredService<PersonalAccessTokenService>().CreateAsync(user, "script", null);
            return (team, project, token.Secret);
        });
        var api = web.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        var teams = await JsonAsync(await api.GetAsync("api/v1/teams"));
        Assert.Equal(teamId, Assert.Single(teams.EnumerateArray()).GetProperty("id").GetInt32());

        var created = await JsonAsync(await api.PostAsync($"api/v1/projects/{projectId}/datasets",
            new StringContent("""{"name":"Colours"}""", Encoding.UTF8, "application/json")), HttpStatusCode.Created);
        var datasetId = created.GetProperty("dataset").GetProperty("id").GetInt32();

        var zip = Zip(perClass: 10, inSplitFolders: true).ToArray();
        var report = await JsonAsync(await api.PostAsync($"api/v1/datasets/{datasetId}/zip", Body(zip, "application/zip")));
        Assert.Equal(20, report.GetProperty("accepted").GetInt32());

        var settings = """{"backbone":"resnet18x3-imagenet","epochs":2,"batchSize":8,"imageSize":64,"learningRate":0.01,"earlyStoppingPatience":0,"seed":3}""";
        var launched = await JsonAsync(await api.PostAsync($"api/v1/datasets/{datasetId}/jobs",
            new StringContent(settings, Encoding.UTF8, "application/json")), HttpStatusCode.Created);
        var jobId = Assert.Single(launched.GetProperty("ids").EnumerateArray()).GetInt32();

        // Poll the run as a script would, until it is no longer queued, starting or running.
        var deadline = DateTime.UtcNow + Patience;
        JsonElement job;
        while ((job = await JsonAsync(await api.GetAsync($"api/v1/jobs/{jobId}"))).GetProperty("isActive").GetBoolean())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Run {jobId} is still {job.GetProperty("status")} after {Patience}.");
            await Task.Delay(200);
        }
        Assert.True(job.GetProperty("status").GetString() == "completed", job.ToString());
        Assert.Equal([1, 2], job.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()));
        Assert.InRange(job.GetProperty("accuracy").GetDouble(), 0, 1);
        Assert.True(job.GetProperty("hasModel").GetBoolean());

        var model = await api.GetAsync($"api/v1/jobs/{jobId}/model");
        Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        using (var artifact = new ZipArchive(await model.Content.ReadAsStreamAsync()))
            Assert.NotNull(artifact.GetEntry("model.json"));

        var pdf = await api.GetAsync($"api/v1/jobs/{jobId}/report.pdf");
        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);
        Assert.StartsWith("%PDF", Encoding.ASCII.GetString((await pdf.Content.ReadAsByteArrayAsync())[..4]));

        byte[] image;
        using (var archive = new ZipArchive(new MemoryStream(zip)))
        await using (var entry = archive.Entries.First(e => e.FullName.StartsWith("test/red/")).Open())
        {
            using var buffer = new MemoryStream();
            await entry.CopyToAsync(buffer);
            image = buffer.ToArray();
        }
        var top = await JsonAsync(await api.PostAsync($"api/v1/jobs/{jobId}/predict?topK=2", Body(image, "image/png")));
        var classes = top.EnumerateArray().Select(p => p.GetProperty("className").GetString()).ToList();
        Assert.Equal(["blue", "red"], classes.Order());
        Assert.Equal(1.0, top.EnumerateArray().Sum(p => p.GetProperty("probability").GetDouble()), 3);

        // Calibration (ADR 022): 4 validation images are too few to fit a temperature or choose an "unknown" threshold, and
        // the run says so; classify then always answers the top class.
        var calibration = job.GetProperty("calibration");
        Assert.Equal(1.0, calibration.GetProperty("temperature").GetDouble());
        Assert.Equal(JsonValueKind.Null, calibration.GetProperty("fittedOn").ValueKind);
        Assert.Contains("Only 4 held-out images", calibration.GetProperty("note").GetString());
        Assert.Equal(JsonValueKind.Null, calibration.GetProperty("threshold").ValueKind);
        Assert.Contains("at least 20 are needed", calibration.GetProperty("thresholdMessage").GetString());
        var best = top.EnumerateArray().First();
        var answered = await JsonAsync(await api.PostAsync($"api/v1/jobs/{jobId}/classify?topK=2", Body(image, "image/png")));
        Assert.False(answered.GetProperty("unknown").GetBoolean());
        Assert.Equal(best.GetProperty("className").GetString(), answered.GetProperty("answer").GetString());
        Assert.Equal(JsonValueKind.Null, answered.GetProperty("threshold").ValueKind);

        // With a threshold above this image's top probability (what a stricter target on a larger validation split gives),
        // classify answers "unknown", still gives the top classes, and states the threshold.
        var threshold = Math.Min(1, best.GetProperty("probability").GetDouble() + 1e-3);
        await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Web.Data.TransferHubDbContext>>().CreateDbContextAsync();
            return await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ExecuteUpdateAsync(db.Jobs.Where(j => j.Id == jobId),
                u => u.SetProperty(j => j.RejectionThreshold, threshold));
        });
        var unknown = await JsonAsync(await api.PostAsync($"api/v1/jobs/{jobId}/classify?topK=2", Body(image, "image/png")));
        Assert.True(unknown.GetProperty("unknown").GetBoolean());
        Assert.Equal("unknown", unknown.GetProperty("answer").GetString());
        Assert.Equal(threshold, unknown.GetProperty("threshold").GetDouble(), 9);
        Assert.Equal(best.GetProperty("className").GetString(), unknown.GetProperty("top").EnumerateArray().First().GetProperty("className").GetString());
        Assert.Equal(1.0, unknown.GetProperty("temperature").GetDouble());
    }
}
