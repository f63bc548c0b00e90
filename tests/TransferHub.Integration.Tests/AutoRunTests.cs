using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Storage;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>An Auto run (autopilot) from the web's queue to a real worker and back: the leaderboard is stored as the
/// worker scores candidates and ranked when it completes, with the evaluation, the model and the reports.</summary>
public sealed class AutoRunTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task AnAutoRunCompletesWithItsLeaderboardStoredRankedItsWinnerNamedAndItsEvaluation()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var settings = JobSettings.ForMode(TrainingMode.Auto, "resnet18x3-imagenet", inputSize: 32);
        settings.TimeBudgetSeconds = 15;
        settings.BatchSize = 8;
        settings.Seed = 3;

        var id = Assert.Single(await LaunchAsync(web, user, dataset, settings));
        // What the run page sees on each update while the run chooses.
        var seen = new ConcurrentQueue<ModelSelection?>();
        using var subscription = web.Services.GetRequiredService<JobNotifier>().SubscribeRun(id, async _ =>
            seen.Enqueue(ModelSelection.FromJson((await JobAsync(web, id)).LeaderboardJson)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");

        Assert.True(job.Status == JobStatus.Completed, job.Message);
        Assert.Equal((TrainingMode.Auto, 15, 0), (job.Mode, job.TimeBudgetSeconds, job.EpochsTotal));
        Assert.Empty(job.Epochs);
        var selection = ModelSelection.FromJson(job.LeaderboardJson);
        Assert.NotNull(selection);
        Assert.True(selection.IsFinal);
        Assert.Contains(selection.Leaderboard, c => c.Name == selection.Winner);
        Assert.Equal(Enumerable.Range(1, selection.Leaderboard.Count), selection.Leaderboard.Select(c => c.Rank));
        Assert.Contains(selection.Leaderboard, c => c.Name == "logreg-std-ls0.1-C0.1"); // the first candidate always runs
        Assert.All(selection.Leaderboard, c =>
        {
            Assert.InRange(c.CvMean, c.CiLow - 1e-6, c.CiHigh + 1e-6);
            // The LP-FT stage (ADR 036) is scored on one held-out fold against the probe it starts from; every
            // classifier on the cached features by cross-validation.
            if (c.Name.StartsWith("lp-ft:", StringComparison.Ordinal))
                Assert.True(c.Folds == 1 && c.Params.Contains("held_out=fold_1_of_5", StringComparison.Ordinal), $"{c.Name}: {c.Folds} folds, {c.Params}");
            else
                Assert.True(c.Folds >= 2, $"{c.Name}: {c.Folds} folds");
        });
        Assert.Contains(selection.Winner!, selection.WinnerReason);
        Assert.Contains(seen, s => s is { IsFinal: false, Leaderboard.Count: > 0 }); // filled in live before the final ranking

        var evaluation = RunEvaluation.FromJson(job.EvaluationJson!);
        Assert.Equal("test", evaluation.Split);
        Assert.Equal(4, evaluation.Predictions.Count);
        Assert.Equal(evaluation.Predictions.Count(p => p.Correct) / 4.0, job.Accuracy!.Value, 5);
        Assert.Contains(job.Logs, l => l.Message.Contains($"with {selection.Winner}, chosen by cross-validation"));
        Assert.True(web.Services.GetRequiredService<ModelStore>().Contains(id));

        var report = await web.InScopeAsync(s => s.GetRequiredService<ReportService>().BuildAsync(user, id));
        using var json = JsonDocument.Parse(RunReportRenderer.Json(report!));
        Assert.Equal(selection.Winner, json.RootElement.GetProperty("leaderboard").GetProperty("winner").GetString());
        Assert.EndsWith("· auto", report!.Title);
    }

    [Fact]
    public async Task TheWorkersMeasuredFeatureThroughputReachesTheWebAndScalesTheAutoBudgetDefault()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (admin, _, dataset) = await TrainableDatasetAsync(web, perClass: 20); // 40 images: enough for a measurement
        var settings = JobSettings.ForMode(TrainingMode.FeatureExtraction, "resnet18x3-imagenet", inputSize: 112);
        settings.Epochs = 1;
        settings.EarlyStoppingPatience = 0;
        settings.BatchSize = 16;
        var id = Assert.Single(await LaunchAsync(web, admin, dataset, settings));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);

        // The next contact (the monitor's, or an admin's connection test) records what the worker measured.
        var worker = Assert.Single(await web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().ListAsync(admin)), w => w.IsLocal);
        Assert.True((await web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().TestConnectionAsync(admin, worker.Id))).Ok);
        var rate = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return (await db.Workers.FindAsync(worker.Id))!.FeatureImagesPerSecond;
        });
        Assert.NotNull(rate);
        Output.WriteLine($"measured {rate:F1} forward passes/s at 224 px");
        Assert.InRange(rate.Value, 0.1, 1e5);

        var budget = await web.InScopeAsync(s => s.GetRequiredService<JobService>().AutoBudgetDefaultAsync());
        Assert.Equal((Contracts.Jobs.JobDefaults.AutoTimeBudgetFor(rate), worker.Name), (budget.Seconds, budget.SlowestWorker));
    }
}
