using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Infrastructure;

namespace TransferHub.Worker.Tests.Training;

/// <summary>Two seeded jobs running at the same time on one worker give exactly what each gives alone.</summary>
[Collection(WorkerCollection.Name)]
public sealed class ConcurrencyTests(WorkerFactory worker)
{
    /// <summary>Records epochs; with a barrier, holds each job at every epoch's end until the other gets there, so
    /// that the two jobs' batches (and random draws) are sure to interleave.</summary>
    private sealed class Recorder(Barrier? lockstep) : ITrainingObserver
    {
        public List<EpochResult> Epochs { get; } = [];
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch)
        {
            Epochs.Add(epoch);
            lockstep?.SignalAndWait(TimeSpan.FromSeconds(60));
        }
        public void Log(string level, string message) { }
    }

    [Fact]
    public async Task TwoConcurrentSeededJobsGiveTheSameMetricsAsEachAlone()
    {
        var images = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 2);
        await worker.Client().UploadAsync(images);
        var trainer = new Trainer(worker.Services.GetRequiredService<BackboneRegistry>(), worker.Services.GetRequiredService<ImageStore>(),
            worker.Services.GetRequiredService<FeatureCache>(), torch.CPU);
        // Feature extraction on cached features with a dropout head: every epoch draws dropout masks and nothing else
        // varies, so any shared random stream shows in the losses.
        TrainingSpec Spec(long seed) => new()
        {
            JobId = $"concurrent-{seed}",
            Items = images.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split)).ToList(),
            ClassNames = TestImages.FashionClasses.Take(3).ToList(),
            Backbone = "resnet18x3-imagenet",
            Mode = TrainingMode.FeatureExtraction,
            HiddenUnits = 16,
            Dropout = 0.5f,
            LearningRate = 0.01f,
            Epochs = 12,
            BatchSize = 4,
            ImageSize = 32,
            Seed = seed,
        };
        List<(float, float, float)> Run(long seed, Barrier? lockstep)
        {
            var recorder = new Recorder(lockstep);
            trainer.Run(Spec(seed), recorder, CancellationToken.None).Model.Dispose();
            return recorder.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValLoss)).ToList();
        }

        Run(1, null); // fills the feature cache, so every later run reads identical features
        var aloneA = Run(1, null);
        var aloneB = Run(2, null);
        using var lockstep = new Barrier(2);
        var together = await Task.WhenAll(
            Task.Factory.StartNew(() => Run(1, lockstep), TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => Run(2, lockstep), TaskCreationOptions.LongRunning));

        Assert.NotEqual(aloneA, aloneB);
        Assert.Equal(aloneA, together[0]);
        Assert.Equal(aloneB, together[1]);
    }
}
