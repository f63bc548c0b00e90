using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Reports;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>A finished run keeps what it evaluated (file names and thumbnails, after images are deleted from the
/// dataset), and its report's first page does not let accuracy hide an imbalanced failure. Through the web app.</summary>
public sealed class RunReportsAfterDeletionTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private T Service<T>() where T : notnull => app.Services.CreateScope().ServiceProvider.GetRequiredService<T>();

    [Fact]
    public async Task AfterATestImageIsDeletedTheRunsFilesStillNameItAndItsThumbnailIsStillServedToTheTeamOnly()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var entries = new List<(string, byte[])>();
        foreach (var cls in new[] { "bag", "sandal" })
        {
            var files = TestFiles.FashionEntries(cls, 10, cls).ToList();
            entries.AddRange(files.Select((f, i) => ((i < 6 ? "train/" : i < 8 ? "val/" : "test/") + f.Path, f.Data)));
        }
        Assert.Equal(20, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        var jobId = (await Service<JobService>().LaunchAsync(s.EditorId, datasetId, new JobSettings
        {
            Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FeatureExtraction, Epochs = 3, EarlyStoppingPatience = 0, ImageSize = 64, Seed = 3,
        }))[0];
        var tests = await TestImagesAsync(datasetId);
        await FinishAsync(jobId, tests);

        var deleted = tests[0];
        await Service<CurationService>().DeleteAsync(s.EditorId, datasetId, [deleted.Id]);
        await using (var db = await app.DbAsync())
            Assert.False(await db.DatasetImages.AnyAsync(i => i.Id == deleted.Id));

        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);
        var predictions = await viewer.GetStringAsync($"runs/{jobId}/predictions.csv");
        Assert.Single(predictions.Split('\n'), l => l.StartsWith($"{deleted.Sha256},{deleted.OriginalName},", StringComparison.Ordinal));
        Assert.DoesNotContain("no longer in the dataset", predictions);
        var json = await viewer.GetStringAsync($"runs/{jobId}/evaluation.json");
        Assert.Contains($"\"originalName\": \"{deleted.OriginalName}\"", json);
        Assert.DoesNotContain("no longer in the dataset", json);

        var thumbnail = await viewer.GetAsync($"datasets/{datasetId}/images/{deleted.Sha256}/thumbnail");
        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"datasets/{datasetId}/images/{deleted.Sha256}/thumbnail")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync($"datasets/{datasetId}/images/{new string('b', 64)}/thumbnail")).StatusCode);
    }

    [Fact]
    public async Task OnAnImbalancedTestSetPageOneShowsBalancedAccuracyMacroF1AndTheSplitAndSaysWhyAccuracyMisleads()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Mostly bags");
        // 10 bags right, the one sandal called a bag: accuracy 10/11 = 90.9 %, macro F1 (0.952 + 0) / 2 = 0.476.
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [.. Enumerable.Repeat((0, 0.9f), 10), (1, 0.3f)]);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        using var pdf = new RenderedPdf(await viewer.GetByteArrayAsync($"runs/{jobId}/report.pdf"));

        var first = System.Text.RegularExpressions.Regex.Replace(pdf.PageTexts()[0], @"\s+", " ");
        Assert.Contains("90.9% 50.0% 0.476 test", first);
        Assert.Contains("accuracy balanced accuracy (macro macro F1 (every class evaluated split", first); // the tiles' labels
        Assert.Contains("Accuracy is high because one class dominates the test split (90.9% of its images are “bag”); " +
            "macro F1 0.476 and balanced accuracy 50.0% show the smaller classes are often wrong.", first);
    }

    private sealed record TestImage(long Id, string Sha256, string OriginalName, int TrueClass);

    private async Task<List<TestImage>> TestImagesAsync(int datasetId)
    {
        await using var db = await app.DbAsync();
        return await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.Split == DatasetSplit.Test).OrderBy(i => i.OriginalName)
            .Select(i => new TestImage(i.Id, i.Sha256, i.OriginalName, i.Class!.Name == "bag" ? 0 : 1)).ToListAsync();
    }

    /// <summary>What the scheduler stores when the worker reports the run finished: every test image right.</summary>
    private async Task FinishAsync(int jobId, IReadOnlyList<TestImage> images)
    {
        var evaluation = RunEvaluation.Compute("test", StoredRuns.Classes, [.. images.Select(i =>
        {
            var probabilities = new float[2];
            probabilities[i.TrueClass] = 0.9f;
            probabilities[1 - i.TrueClass] = 0.1f;
            return (i.Sha256, i.TrueClass, probabilities);
        })]);
        await using var db = await app.DbAsync();
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId);
        job.Status = JobStatus.Completed;
        job.Attempt = 1;
        job.FinishedAt = DateTime.UtcNow;
        job.Accuracy = evaluation.Accuracy;
        job.MacroF1 = evaluation.Macro.F1;
        job.Loss = evaluation.Loss;
        job.EvaluationJson = evaluation.ToJson();
        job.EvaluatedSplit = "test";
        await db.SaveChangesAsync();
    }
}
