using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TransferHub.Contracts.Jobs;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Grpc;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Training;

/// <summary>The launch options of issue 11 §3 on the worker: class weighting, balanced sampling and head-first epochs
/// from the wire spec to the trainer, and what head-first epochs do to the backbone.</summary>
[Collection(WorkerCollection.Name)]
public sealed class FineTuneOptionsTests(WorkerFactory worker)
{
    private const string Backbone = "resnet18x3-imagenet";

    private sealed class Logs : ITrainingObserver
    {
        public List<string> Lines { get; } = [];
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch) { }
        public void Log(string level, string message) => Lines.Add(message);
    }

    private BackboneRegistry Registry => worker.Services.GetRequiredService<BackboneRegistry>();
    private ImageStore Store => worker.Services.GetRequiredService<ImageStore>();

    [Fact]
    public async Task TheOptionsReachTheTrainerAndLeftOutOnesTakeTheDefaults()
    {
        var images = TestImages.Fashion(classes: 2, train: 2, val: 1, test: 0);
        await worker.Client().UploadAsync(images);
        var spec = WorkerClientExtensions.Spec("options", images, classes: 2);
        spec.Mode = JobMode.FineTune;
        spec.Epochs = 5;
        spec.ClassWeighting = ClassWeighting.EffectiveNumber;
        spec.BalancedSampling = true;

        var mapped = JobSpecMapper.ToTrainingSpec(spec, Registry, Store);

        Assert.Equal((ClassWeightingKind.EffectiveNumber, JobDefaults.ClassWeightBeta, true, JobDefaults.HeadFirstEpochs(5)),
            (mapped.ClassWeighting, mapped.ClassWeightBeta, mapped.BalancedSampling, mapped.HeadFirstEpochs));
        spec.ClassWeightBeta = 0.99f;
        spec.HeadFirstEpochs = 0; // present: off, whatever the default
        Assert.Equal((0.99f, 0), ((float)JobSpecMapper.ToTrainingSpec(spec, Registry, Store).ClassWeightBeta, JobSpecMapper.ToTrainingSpec(spec, Registry, Store).HeadFirstEpochs));
        spec.HeadFirstEpochs = 4;
        Assert.Equal(4, JobSpecMapper.ToTrainingSpec(spec, Registry, Store).HeadFirstEpochs);
        // Auto mode has its own class-balanced candidates; feature extraction trains only the head anyway.
        spec.Mode = JobMode.Auto;
        var auto = JobSpecMapper.ToTrainingSpec(spec, Registry, Store);
        Assert.Equal((ClassWeightingKind.None, false, 0), (auto.ClassWeighting, auto.BalancedSampling, auto.HeadFirstEpochs));
        spec.Mode = JobMode.FeatureExtraction;
        var featureExtraction = JobSpecMapper.ToTrainingSpec(spec, Registry, Store);
        Assert.Equal((ClassWeightingKind.EffectiveNumber, true, 0), (featureExtraction.ClassWeighting, featureExtraction.BalancedSampling, featureExtraction.HeadFirstEpochs));
    }

    [Fact]
    public async Task OutOfRangeOptionsAreInvalidArgumentsSayingWhatIsAllowed()
    {
        var client = worker.Client();
        var images = TestImages.Fashion(classes: 2, train: 2, val: 0, test: 0);
        await client.UploadAsync(images);
        var spec = WorkerClientExtensions.Spec("bad-options", images, classes: 2);
        spec.Mode = JobMode.FineTune;
        spec.Epochs = 3;
        spec.HeadFirstEpochs = 3;
        spec.ClassWeighting = ClassWeighting.EffectiveNumber;
        spec.ClassWeightBeta = 1.5f;

        var error = await Assert.ThrowsAsync<RpcException>(() => client.StartJob(spec).ReadAllAsync());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("classWeightBeta: The effective-number β must be above 0 and below 1 (typical: 0.9 to 0.9999); got 1.5.", error.Status.Detail);
        Assert.Contains("headFirstEpochs: Head-first epochs must be fewer than the epochs (3)", error.Status.Detail);
    }

    [Fact]
    public async Task HeadFirstEpochsLeaveTheWholeBackboneAsItWasAndTheUnfrozenStagesTrainAfterThem()
    {
        var images = TestImages.Fashion(classes: 3, train: 4, val: 2, test: 1);
        await worker.Client().UploadAsync(images);
        var trainer = new Trainer(Registry, Store, worker.Services.GetRequiredService<FeatureCache>(), torch.CPU);
        var spec = new TrainingSpec
        {
            JobId = "head-first",
            Items = [.. images.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split))],
            ClassNames = [.. TestImages.FashionClasses.Take(3)],
            Backbone = Backbone,
            Mode = TrainingMode.FineTune,
            UnfreezeStages = 1,
            LearningRate = 1e-2f,
            Epochs = 1,
            HeadFirstEpochs = 1,
            BatchSize = 4,
            ImageSize = 32,
            Seed = 5,
        };
        using var pretrained = Registry.Create(Backbone);

        var headOnlyLogs = new Logs();
        var headOnly = trainer.Run(spec, headOnlyLogs, CancellationToken.None);
        var twoLogs = new Logs();
        var headThenStage = trainer.Run(spec with { Epochs = 2 }, twoLogs, CancellationToken.None);
        try
        {
            var stages = pretrained.Stages.Count;
            // Weights and BatchNorm statistics of every stage: untouched while only the head trains…
            Assert.All(Enumerable.Range(0, stages), s => Assert.True(SameState(pretrained.Stages[s], headOnly.Model.Backbone.Stages[s]), $"stage {s}"));
            // …then the last stage trains and the others stay frozen.
            Assert.All(Enumerable.Range(0, stages - 1), s => Assert.True(SameState(pretrained.Stages[s], headThenStage.Model.Backbone.Stages[s]), $"stage {s}"));
            Assert.False(SameState(pretrained.Stages[^1], headThenStage.Model.Backbone.Stages[^1]));
            Assert.Contains(twoLogs.Lines, l => l.StartsWith("Head first: epoch 1 train", StringComparison.Ordinal));
            Assert.Contains("Epoch 2: the backbone's last 1 stage(s) unfreeze.", twoLogs.Lines);
        }
        finally
        {
            headOnly.Model.Dispose();
            headThenStage.Model.Dispose();
        }
    }

    private sealed class LiveTensors : ITrainingObserver
    {
        public List<long> AtEpochEnd { get; } = [];
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch) => AtEpochEnd.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        public void Log(string level, string message) { }
    }

    [Fact]
    public async Task WeightsBalancedSamplingAndTheUnfreezeLeaveTheLiveTensorCountFlat()
    {
        var all = TestImages.Fashion(classes: 3, train: 6, val: 2, test: 1);
        // Imbalanced: class 0 keeps 2 of its 6 training images.
        var images = all.Where(i => i.ClassIndex > 0 || i.Split != DataSplit.Train).Concat(all.Where(i => i.ClassIndex == 0 && i.Split == DataSplit.Train).Take(2)).ToList();
        await worker.Client().UploadAsync(images);
        var trainer = new Trainer(Registry, Store, worker.Services.GetRequiredService<FeatureCache>(), torch.CPU);
        var spec = new TrainingSpec
        {
            JobId = "options-leak",
            Items = [.. images.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split))],
            ClassNames = [.. TestImages.FashionClasses.Take(3)],
            Backbone = Backbone,
            Mode = TrainingMode.FineTune,
            UnfreezeStages = 2,
            Epochs = 6,
            HeadFirstEpochs = 2,
            ClassWeighting = ClassWeightingKind.EffectiveNumber,
            BalancedSampling = true,
            BatchSize = 4,
            ImageSize = 32,
            Augmentation = new() { HorizontalFlip = true },
        };
        var probe = new LiveTensors();

        trainer.Run(spec, probe, CancellationToken.None).Model.Dispose();

        // The unfrozen stages' gradients appear in epoch 3; from then on every batch frees what it made.
        Assert.Equal(6, probe.AtEpochEnd.Count);
        Assert.All(probe.AtEpochEnd.Skip(3), live => Assert.Equal(probe.AtEpochEnd[2], live));
    }

    private static bool SameState(torch.nn.Module expected, torch.nn.Module actual)
    {
        using var scope = torch.NewDisposeScope();
        var a = expected.state_dict();
        var b = actual.state_dict();
        return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var other) && kv.Value.shape.SequenceEqual(other.shape)
            && kv.Value.eq(other).all().item<bool>());
    }
}
