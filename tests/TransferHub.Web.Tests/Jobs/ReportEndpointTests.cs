using System.Net;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Reports;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>A run's report downloads: the numbers, file names and thumbnails of the run, only for its team.</summary>
public sealed class ReportEndpointTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    /// <summary>A dataset of 2 bags and 2 sandals in the test split and a stored run that got one sandal wrong.</summary>
    private async Task<(TeamScenario S, int JobId)> RunAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var zip = TestFiles.Zip(TestFiles.FashionEntries("bag", 2, "test/bag").Concat(TestFiles.FashionEntries("sandal", 2, "test/sandal")));
        Assert.Equal(4, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, zip)).Accepted);
        await using var db = await app.DbAsync();
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.OriginalName)
            .Select(i => new { i.Sha256, Class = i.Class!.Name }).ToListAsync();
        var sandals = images.Where(i => i.Class == "sandal").ToList();
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [.. images.Select(i =>
            (i.Sha256, i.Class == "bag" ? 0 : 1, i.Sha256 == sandals[0].Sha256 ? 0.2f : 0.9f))]);
        return (s, jobId);
    }

    [Fact]
    public async Task TheTeamDownloadsAPdfWithTheRunsNumbersAndCsvAndJsonWithEveryImage()
    {
        var (s, jobId) = await RunAsync();
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.Name, "baseline"));

        var pdfResponse = await viewer.GetAsync($"runs/{jobId}/report.pdf");
        Assert.Equal(HttpStatusCode.OK, pdfResponse.StatusCode);
        Assert.Equal("application/pdf", pdfResponse.Content.Headers.ContentType?.MediaType);
        using var pdf = new RenderedPdf(await pdfResponse.Content.ReadAsByteArrayAsync());
        var text = string.Join("\n", pdf.PageTexts());
        Assert.Contains("75.0%", text);                 // 3 of 4 right
        Assert.Contains("Shoes and bags", text);
        Assert.Contains("Run #1 · baseline · ", text);  // titled as the run page titles it, with its name
        Assert.Contains("0.667", text);                 // bag precision: 2 of 3 called bag
        Assert.Contains("→", text);                     // the misclassified sandal's caption
        Assert.Contains(new string('a', 64), text.Replace("\n", "").Replace(" ", ""));

        var predictions = await viewer.GetStringAsync($"runs/{jobId}/predictions.csv");
        var lines = predictions.Trim().Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Single(lines, l => l.Contains("test/sandal/") && l.Contains(",sandal,bag,") && l.EndsWith(",false,test"));
        var perClass = await viewer.GetStringAsync($"runs/{jobId}/per-class.csv");
        Assert.Contains("sandal,", perClass);
        Assert.Contains("macro avg", perClass);
        using var json = System.Text.Json.JsonDocument.Parse(await viewer.GetStringAsync($"runs/{jobId}/evaluation.json"));
        Assert.Equal(0.75, json.RootElement.GetProperty("accuracy").GetDouble());
        Assert.Equal(4, json.RootElement.GetProperty("predictions").GetArrayLength());
        Assert.Equal(1, json.RootElement.GetProperty("misclassified").GetArrayLength());
    }

    [Fact]
    public async Task CsvDownloadsNeutraliseClassNamesThatLookLikeFormulasAndJsonKeepsThemExactly()
    {
        // class-names-formulas.zip's kind: folders "=1+2" and "-4+1", one file named like the classic payload.
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Formulas");
        var zip = TestFiles.Zip(TestFiles.FashionEntries("bag", 2, "test/=1+2")
            .Append(("test/-4+1/=cmd|'calc'!A0.png", TestFiles.Fashion("sandal", 0))));
        Assert.Equal(3, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, zip)).Accepted);
        await using var db = await app.DbAsync();
        var images = await db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.OriginalName)
            .Select(i => new { i.Sha256, i.OriginalName, Class = i.Class!.Name }).ToListAsync();
        string[] classes = ["=1+2", "-4+1"];
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1,
            [.. images.Select(i => (i.Sha256, Array.IndexOf(classes, i.Class), i.Class == "-4+1" ? 0.2f : 0.9f))], classes);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var perClass = Rfc4180.Parse(await viewer.GetStringAsync($"runs/{jobId}/per-class.csv"));
        Assert.Equal(["'=1+2", "'-4+1", "macro avg", "weighted avg"], perClass.Skip(1).Select(r => r[0]));
        Assert.Equal(["0.6666666666666666", "1", "0.8", "2", "test"], perClass[1][1..]);

        var predictions = Rfc4180.Parse(await viewer.GetStringAsync($"runs/{jobId}/predictions.csv"));
        Assert.Equal(images.Select(i => i.OriginalName).Order(StringComparer.Ordinal), predictions.Skip(1).Select(r => r[1]).Order(StringComparer.Ordinal));
        var payload = Assert.Single(predictions, r => r[1].Contains("calc"));
        Assert.Equal(["'-4+1", "'=1+2", "false"], [payload[2], payload[3], payload[5]]);
        Assert.All(predictions.Skip(1), r => Assert.StartsWith("'", r[2]));

        using var json = System.Text.Json.JsonDocument.Parse(await viewer.GetStringAsync($"runs/{jobId}/evaluation.json"));
        Assert.Equal(classes, json.RootElement.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(json.RootElement.GetProperty("predictions").EnumerateArray(),
            p => p.GetProperty("trueClass").GetString() == "-4+1" && p.GetProperty("predictedClass").GetString() == "=1+2");
    }

    [Fact]
    public async Task OutsidersGetNotFoundAndARunWithoutEvaluationSaysSo()
    {
        var (s, jobId) = await RunAsync();
        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        foreach (var file in new[] { "report.pdf", "per-class.csv", "predictions.csv", "evaluation.json" })
            Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"runs/{jobId}/{file}")).StatusCode);

        await using (var db = await app.DbAsync())
        {
            var job = await db.Jobs.FirstAsync(j => j.Id == jobId);
            (job.Status, job.EvaluationJson) = (JobStatus.Running, null);
            await db.SaveChangesAsync();
        }
        var owner = await app.SignedInClientAsync(s.Email("owner"), s.OwnerId);
        var pending = await owner.GetAsync($"runs/{jobId}/report.pdf");
        Assert.Equal(HttpStatusCode.Conflict, pending.StatusCode);
        // This host's scheduler may end the "running" run on its made-up worker meanwhile (worker lost): either wording.
        Assert.Matches("has no evaluation yet|ended without an evaluation", await pending.Content.ReadAsStringAsync());

        await using (var db = await app.DbAsync())
        {
            var job = await db.Jobs.FirstAsync(j => j.Id == jobId);
            job.Status = JobStatus.Diverged; // ended for good: no "yet"
            await db.SaveChangesAsync();
        }
        var diverged = await owner.GetAsync($"runs/{jobId}/report.pdf");
        Assert.Equal(HttpStatusCode.Conflict, diverged.StatusCode);
        var problem = await diverged.Content.ReadAsStringAsync();
        Assert.Contains("ended without an evaluation (diverged)", problem);
        Assert.DoesNotContain("yet", problem);
    }
}
