using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Storage;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>No model is lost: a run is "completed" only once its model is in the web's storage, and a copy cut short by
/// a dying worker or a restarting web app is made again, leaving no temporary file behind (shared/cases).</summary>
public sealed class ModelCopyTests(ITestOutputHelper output) : HostedTest(output)
{
    private const string DownloadModel = "/transferhub.worker.v1.WorkerService/DownloadModel";

    private static string ModelsFolder(WebHost web) => Path.Combine(web.Folder, "storage", "models");

    [Fact]
    public async Task AWorkerKilledDuringTheModelCopyLeavesTheRunFinishingAndTheCopyIsRetriedFromTheRestartedWorker()
    {
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
        try
        {
            var worker = new WorkerSwitch(Keep(new WorkerHost(folder)));
            var web = Keep(new WebHost(worker, folder: null, new Dictionary<string, string>
            {
                ["Jobs:ReattachDelaySeconds"] = "0.5",
                ["Jobs:ModelCopyAttempts"] = "8",
            }));
            var (user, _, dataset) = await TrainableDatasetAsync(web);
            var killed = new TaskCompletionSource<WorkerHost>(TaskCreationOptions.RunContinuationsAsynchronously);
            worker.OnResponse = (path, _) =>
            {
                // kill -9 once the model's bytes have started to flow: the stream breaks mid-copy.
                if (path == DownloadModel && !killed.Task.IsCompleted) killed.TrySetResult(worker.Kill());
                return Task.CompletedTask;
            };

            var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 2)));
            var dead = await killed.Task.WaitAsync(Patience);

            var finishing = await JobAsync(web, id);
            Assert.Equal(JobStatus.Finishing, finishing.Status); // trained and evaluated, but no model yet: not completed
            Assert.NotNull(finishing.EvaluationJson);
            Assert.Null(finishing.ModelBytes);

            dead.Dispose();
            worker.Current = Keep(new WorkerHost(folder)); // the same worker comes back on its own disk: it still has the model

            var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
            Assert.True(job.Status == JobStatus.Completed, job.Message);
            Assert.True(job.ModelBytes > 1000);
            Assert.True(web.Services.GetRequiredService<ModelStore>().Contains(id));
            Assert.Contains(job.Logs, l => l.Message.StartsWith("Completed:") && l.Message.Contains("copy attempt"));
            Assert.Empty(Directory.GetFiles(ModelsFolder(web), "*.tmp"));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task AWebAppStoppedDuringTheModelCopyCopiesItAgainAtItsNextStartAndRemovesTheOrphanedTemporaryFile()
    {
        var worker = new WorkerSwitch(NewWorker());
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
        try
        {
            var first = Logged(new WebHost(worker, folder));
            var (user, _, dataset) = await TrainableDatasetAsync(first);
            var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            worker.OnResponse = async (path, ct) =>
            {
                if (path != DownloadModel) return;
                stalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct); // the copy hangs until the web app stops
            };
            var id = Assert.Single(await LaunchAsync(first, user, dataset, QuickRun(epochs: 2)));
            await stalled.Task.WaitAsync(Patience);
            Assert.Equal(JobStatus.Finishing, (await JobAsync(first, id)).Status);

            await first.DisposeAsync();
            // What kill -9 during the copy leaves on disk: a half-written temporary file.
            var models = Path.Combine(folder, "storage", "models");
            var orphan = Path.Combine(models, $"run-{id}.zip.{Guid.NewGuid():N}.tmp");
            await File.WriteAllBytesAsync(orphan, new byte[123]);
            worker.OnResponse = null;

            var second = Keep(new WebHost(worker, folder));
            var job = await WaitForAsync(second, id, j => j.IsFinished, "an end state after the restart");

            Assert.True(job.Status == JobStatus.Completed, job.Message);
            Assert.True(job.ModelBytes > 1000);
            Assert.False(File.Exists(orphan));
            Assert.Empty(Directory.GetFiles(models, "*.tmp"));
            Assert.True(second.Services.GetRequiredService<ModelStore>().Contains(id));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task AWorkerThatNoLongerHasTheModelFailsTheRunWithARequeueHintInsteadOfCompletingIt()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null, new Dictionary<string, string> { ["Jobs:ReattachDelaySeconds"] = "0.2" }));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var replaced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.OnResponse = (path, _) =>
        {
            if (path == DownloadModel && !replaced.Task.IsCompleted)
            {
                var dead = worker.Kill();
                worker.Current = NewWorker(); // a different machine at the same address: its disk has no such model
                dead.Dispose();
                replaced.TrySetResult();
            }
            return Task.CompletedTask;
        };

        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 2)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Contains("no longer has its model", job.Message);
        Assert.Contains("Re-queue", job.Message);
        Assert.Null(job.ModelBytes);
    }
}
