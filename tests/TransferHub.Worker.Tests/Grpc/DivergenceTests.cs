using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

/// <summary>A run whose loss becomes NaN/infinite ends as "diverged": every epoch streamed, no evaluation, no model.</summary>
[Collection(WorkerCollection.Name)]
public sealed class DivergenceTests(WorkerFactory worker)
{
    private static readonly IReadOnlyList<TestImage> Small = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 4);

    [Fact]
    public async Task FineTuningAtAHugeLearningRateEndsAsDivergedWithEveryEpochStreamedAndNoModel()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var models = Path.Combine(worker.DataFolder, "models");
        var modelsBefore = Directory.GetFiles(models).Length;
        // The case that crashed the web: SGD + momentum, learning rate 10, backbone multiplier 10, every stage trains.
        var spec = WorkerClientExtensions.Spec("diverge-1", Small, classes: 3);
        spec.Mode = JobMode.FineTune;
        spec.UnfreezeStages = 0;
        spec.Optimizer = Optimizer.SgdMomentum;
        spec.LearningRate = 10;
        spec.BackboneLrMultiplier = 10;
        spec.Epochs = 20;
        spec.BatchSize = 8;

        var events = await client.StartJob(spec).ReadAllAsync();

        var epochs = events.Where(e => e.Epoch is not null).Select(e => e.Epoch).ToList();
        Assert.NotEmpty(epochs);
        Assert.True(epochs.Count < 20, "the run went on after diverging");
        Assert.Equal(Enumerable.Range(1, epochs.Count), epochs.Select(e => e.Epoch));
        var last = epochs[^1];
        Assert.True(!float.IsFinite(last.TrainLoss) || !float.IsFinite(last.ValLoss) || last.TrainLoss > Trainer.ExplodedLoss(3), $"epoch {last.Epoch}: {last}");
        Assert.False(last.IsBest);
        Assert.All(epochs.SkipLast(1), e => Assert.True(float.IsFinite(e.TrainLoss) && float.IsFinite(e.ValLoss) && e.TrainLoss <= Trainer.ExplodedLoss(3)));

        Assert.DoesNotContain(events, e => e.Completed is not null);
        var failed = events[^1].Failed;
        Assert.NotNull(failed);
        Assert.Equal(FailureCode.Diverged, failed.Code);
        Assert.StartsWith($"Training diverged in epoch {last.Epoch}: the ", failed.Message);
        Assert.Contains("Lower the learning rate (e.g. to 0.001) and the backbone LR multiplier (e.g. to 0.1).", failed.Message);

        var status = await client.GetJobStatusAsync(new GetJobStatusRequest { JobId = "diverge-1" });
        Assert.Equal((JobState.Failed, FailureCode.Diverged, last.Epoch, "", failed.Message),
            (status.State, status.FailureCode, status.EpochsDone, status.ModelId, status.Message));
        var replay = await client.WatchJob(new WatchJobRequest { JobId = "diverge-1" }).ReadAllAsync();
        Assert.Equal(events, replay);
        Assert.Equal(modelsBefore, Directory.GetFiles(models).Length);
    }
}
