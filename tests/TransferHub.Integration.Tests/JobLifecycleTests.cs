using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Storage;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>Runs go from the web's queue to a real worker and back: events persisted as they arrive, the model copied
/// into the web's storage, faults (cancel, a worker that dies, a web app that restarts) losing nothing.</summary>
public sealed class JobLifecycleTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task AQueuedRunCompletesWithEveryEpochTheEvaluationAndTheModelStored()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);

        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 3)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");

        Assert.True(job.Status == JobStatus.Completed, job.Message);
        Assert.Equal([1, 2, 3], job.Epochs.OrderBy(e => e.Epoch).Select(e => e.Epoch));
        Assert.All(job.Epochs, e => Assert.InRange(e.TrainAccuracy!.Value, 0, 1));
        Assert.Equal((12, 4, 4), (job.TrainImages, job.ValImages, job.TestImages));
        Assert.Equal("test", job.EvaluatedSplit);
        var evaluation = RunEvaluation.FromJson(job.EvaluationJson!);
        Assert.Equal(4, evaluation.Predictions.Count);
        Assert.Equal(evaluation.Predictions.Count(p => p.Correct) / 4.0, job.Accuracy!.Value, 5);
        Assert.Equal(4, evaluation.Confusion.Sum(row => row.Sum()));
        Assert.Equal(["blue", "red"], evaluation.ClassNames.Order());
        Assert.Equal("in-process-worker", job.WorkerName);
        Assert.Contains(job.Logs, l => l.Message.Contains("Sending 20 of 20 images"));
        Assert.Contains(job.Logs, l => l.Message.StartsWith("Started on in-process-worker (") && l.Message.Contains("12 train, 4 val, 4 test images"));
        Assert.Contains(job.Logs, l => l.Message.StartsWith($"Completed: test accuracy {job.Accuracy:P1}"));

        // The model now lives in the web's storage: the run survives its worker.
        Assert.True(job.ModelBytes > 1000);
        var models = web.Services.GetRequiredService<ModelStore>();
        Assert.True(models.Contains(id));
        await using var artifact = models.OpenRead(id);
        using var zip = new System.IO.Compression.ZipArchive(artifact);
        Assert.NotNull(zip.GetEntry("model.json"));
    }

    [Fact]
    public async Task RepeatingWithSeedsQueuesOneRunPerSeedInOneGroupAndTheWorkerAlreadyHasTheImagesTheSecondTime()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var settings = QuickRun(epochs: 2);
        settings.Repeats = 2;

        var ids = await LaunchAsync(web, user, dataset, settings);

        Assert.Equal(2, ids.Count);
        var first = await WaitForAsync(web, ids[0], j => j.IsFinished, "an end state");
        var second = await WaitForAsync(web, ids[1], j => j.IsFinished, "an end state");
        Assert.Equal((JobStatus.Completed, JobStatus.Completed), (first.Status, second.Status));
        Assert.Equal((3L, 4L), (first.Seed, second.Seed));
        Assert.NotNull(first.SeedGroup);
        Assert.Equal(first.SeedGroup, second.SeedGroup);
        Assert.Contains(second.Logs, l => l.Message.Contains("already has all 20 images"));
        // …and their features: the worker said so, and the run stores it apart from the head's training.
        Assert.Equal((0, 20), (first.FeatureImagesCached, first.FeatureImagesComputed));
        Assert.Equal((20, 0), (second.FeatureImagesCached, second.FeatureImagesComputed));
        Assert.InRange(second.FeatureExtractionSeconds!.Value, 0, second.TrainingSeconds!.Value);
        Assert.Equal((1, 2), (first.Number, second.Number));
    }

    [Fact]
    public async Task CancellingARunningJobStopsItOnTheWorker()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, SlowRun(epochs: 50)));
        await WaitForAsync(web, id, j => j.EpochsDone >= 1, "its first epoch");

        await web.InScopeAsync(async s => { await s.GetRequiredService<JobService>().CancelAsync(user, id); return 0; });

        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.True(job.EpochsDone < 50);
        Assert.Null(job.ModelBytes);
    }

    [Fact]
    public async Task AWorkerThatDiesMidJobLeavesTheRunLostWithItsMetricsAndARequeueCompletesOnAnotherWorker()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null, new Dictionary<string, string>
        {
            ["Jobs:ReattachAttempts"] = "1",
            ["Jobs:ReattachDelaySeconds"] = "0.2",
        }));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, SlowRun(epochs: 6)));
        await WaitForAsync(web, id, j => j.EpochsDone >= 2, "two epochs");

        worker.Kill().Dispose();

        var lost = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.Equal(JobStatus.WorkerLost, lost.Status);
        Assert.Contains("Worker lost", lost.Message);
        var epochsKept = lost.Epochs.Count;
        Assert.InRange(epochsKept, 2, 5);

        worker.Current = NewWorker(); // a fresh worker: it has none of the images
        await web.InScopeAsync(async s => { await s.GetRequiredService<JobService>().RequeueAsync(user, id); return 0; });

        var done = await WaitForAsync(web, id, j => j.IsFinished, "an end state after re-queueing");
        Assert.True(done.Status == JobStatus.Completed, done.Message);
        Assert.Equal(2, done.Attempt);
        Assert.Equal(epochsKept + 6, done.Epochs.Count); // the lost attempt's metrics are still there
        Assert.Equal([1, 2, 3, 4, 5, 6], done.Epochs.Where(e => e.Attempt == 2).OrderBy(e => e.Epoch).Select(e => e.Epoch));
        Assert.Contains(done.Logs, l => l.Attempt == 2 && l.Message.Contains("Sending 20 of 20 images"));
    }

    [Fact]
    public async Task WithAutomaticRetryALostRunIsRequeuedByItselfAndCompletesOnTheNextWorker()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null, new Dictionary<string, string>
        {
            ["Jobs:ReattachAttempts"] = "0",
            ["Jobs:WorkerLostRetries"] = "1",
        }));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, SlowRun(epochs: 4)));
        await WaitForAsync(web, id, j => j.EpochsDone >= 1, "its first epoch");

        var dead = worker.Kill();
        worker.Current = NewWorker(); // a replacement comes up at the same address right away
        dead.Dispose();

        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(0, job.AutoRetriesLeft);
        Assert.Contains(job.Logs, l => l.Attempt == 1 && l.Message.Contains("re-queued automatically"));
    }

    /// <param name="stateAtRestart">Running: the usual case. Starting: the web stopped after the worker accepted the run but
    /// before its first event was stored; the worker already has the run, so it must be watched, not started again.</param>
    [Theory]
    [InlineData(JobStatus.Running)]
    [InlineData(JobStatus.Starting)]
    public async Task AWebAppThatRestartsMidJobReattachesAndTheMetricsContinueWithoutGapsOrRepeats(JobStatus stateAtRestart)
    {
        var worker = new WorkerSwitch(NewWorker());
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
        var first = Logged(new WebHost(worker, folder));
        var (user, _, dataset) = await TrainableDatasetAsync(first);
        var id = Assert.Single(await LaunchAsync(first, user, dataset, SlowRun(epochs: 6)));
        await WaitForAsync(first, id, j => j.EpochsDone >= 1, "its first epoch");

        await first.DisposeAsync(); // the web app stops; the worker trains on
        try
        {
            await using (var db = await first.OpenDatabaseAsync())
            {
                using var update = db.CreateCommand();
                update.CommandText = $"UPDATE \"Jobs\" SET \"Status\" = '{stateAtRestart}' WHERE \"Id\" = {id}";
                Assert.Equal(1, await update.ExecuteNonQueryAsync());
            }

            var second = Keep(new WebHost(worker, folder));
            var job = await WaitForAsync(second, id, j => j.IsFinished, "an end state after the restart");

            Assert.True(job.Status == JobStatus.Completed, job.Message);
            Assert.Equal(1, job.Attempt);
            Assert.Equal([1, 2, 3, 4, 5, 6], job.Epochs.OrderBy(e => e.Epoch).Select(e => e.Epoch));
            Assert.True(job.ModelBytes > 0);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
