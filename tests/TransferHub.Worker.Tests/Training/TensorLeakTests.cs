using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Training;

[Collection(WorkerCollection.Name)]
public sealed class TensorLeakTests(WorkerFactory worker)
{
    private sealed class LiveTensorProbe : ITrainingObserver
    {
        public List<long> LiveAtEpochEnd { get; } = [];
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch) => LiveAtEpochEnd.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        public void Log(string level, string message) { }
    }

    [Theory]
    [InlineData(TrainingMode.FineTune)]
    [InlineData(TrainingMode.FeatureExtraction)]
    public async Task LiveTensorCountStaysFlatAcrossEpochs(TrainingMode mode)
    {
        var images = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 2);
        await worker.Client().UploadAsync(images);
        var trainer = new Trainer(worker.Services.GetRequiredService<BackboneRegistry>(), worker.Services.GetRequiredService<ImageStore>(),
            worker.Services.GetRequiredService<FeatureCache>(), torch.CPU);
        var spec = new TrainingSpec
        {
            JobId = $"leak-{mode}",
            Items = images.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split)).ToList(),
            ClassNames = TestImages.FashionClasses.Take(3).ToList(),
            Backbone = "resnet18x3-imagenet",
            Mode = mode,
            UnfreezeStages = 2,
            Epochs = 5,
            BatchSize = 4,
            ImageSize = 32,
            Augmentation = new() { HorizontalFlip = true },
        };
        var probe = new LiveTensorProbe();

        var outcome = trainer.Run(spec, probe, CancellationToken.None);
        outcome.Model.Dispose();

        Assert.Equal(5, probe.LiveAtEpochEnd.Count);
        // Epoch 1 creates the optimizer state; from then on every batch must free what it made (6 batches an epoch).
        Assert.All(probe.LiveAtEpochEnd.Skip(2), live => Assert.Equal(probe.LiveAtEpochEnd[1], live));
    }
}
