using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Backbones;
using TransferHub.Worker.Tests.Infrastructure;

namespace TransferHub.Worker.Tests.Training;

/// <summary>The feature cache and trained models are keyed by the backbone weights' content, not the backbone's name.</summary>
public sealed class FeatureCacheTests : IDisposable
{
    private const string Backbone = "resnet18-test";
    private readonly TempFolder _weights = TempFolder.Create();
    private readonly TempFolder _noPretrained = TempFolder.Create();
    private readonly TempFolder _data = TempFolder.Create();
    private readonly IReadOnlyList<TestImage> _images = TestImages.Fashion(classes: 2, train: 4, val: 2, test: 2);

    public void Dispose()
    {
        _weights.Dispose();
        _noPretrained.Dispose();
        _data.Dispose();
    }

    private sealed class Recorder : ITrainingObserver
    {
        public List<EpochResult> Epochs { get; } = [];
        public List<string> Logs { get; } = [];
        public List<FeaturesReady> Features { get; } = [];
        public long TrainableParameters { get; private set; }
        public long TotalParameters { get; private set; }
        public void Started(TrainingStarted started) => (TrainableParameters, TotalParameters) = (started.TrainableParameters, started.TotalParameters);
        void ITrainingObserver.Features(FeaturesReady ready) => Features.Add(ready);
        public void Epoch(EpochResult epoch) => Epochs.Add(epoch);
        public void Log(string level, string message) => Logs.Add(message);
    }

    private string WeightsPath => Path.Combine(_weights.Path, Backbone + ".safetensors");

    /// <summary>Writes a resnet18 state_dict drawn from <paramref name="seed"/> as the weights file (same name, same size).</summary>
    private void WriteWeights(int seed, DateTime lastWrite)
    {
        torch.manual_seed(seed);
        using var source = torchvision.models.resnet18();
        source.save_safetensors(WeightsPath);
        File.SetLastWriteTimeUtc(WeightsPath, lastWrite); // as a replaced file has: a new modification time
    }

    private (Recorder Observer, TrainingOutcome Outcome) Train(BackboneRegistry registry, ImageStore images, FeatureCache cache)
    {
        var spec = new TrainingSpec
        {
            JobId = "cache-key",
            Items = _images.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split)).ToList(),
            ClassNames = TestImages.FashionClasses.Take(2).ToList(),
            Backbone = Backbone,
            Mode = TrainingMode.FeatureExtraction,
            Epochs = 2,
            BatchSize = 8,
            ImageSize = 32,
            Seed = 3,
        };
        var observer = new Recorder();
        var outcome = new Trainer(registry, images, cache, torch.CPU).Run(spec, observer, CancellationToken.None);
        return (observer, outcome);
    }

    [Fact]
    public void AWeightsFileReplacedUnderTheSameNameDoesNotServeTheOldFilesCachedFeaturesOrModels()
    {
        var images = new ImageStore(Path.Combine(_data.Path, "images"), 64_000_000);
        foreach (var image in _images) images.Add(image.Sha256, image.Name, image.Data);
        var cache = new FeatureCache(Path.Combine(_data.Path, "features"));
        WriteWeights(seed: 1, DateTime.UtcNow.AddMinutes(-10));
        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);

        var (_, withA) = Train(registry, images, cache);
        using var modelA = withA.Model;
        var artifact = new MemoryStream();
        ModelArtifact.Save(artifact, modelA, new ModelMetadata
        {
            ModelId = "a", JobId = "cache-key", Backbone = Backbone, BackboneDisplayName = Backbone, BackboneFrozen = true,
            BackboneWeightsSha256 = withA.WeightsSha256, ClassNames = ["tshirt", "trouser"], ImageSize = 32, Resize = ResizeMode.Squash,
            Normalization = Normalization.ImageNet, HiddenUnits = 0, Dropout = 0, Mode = "FeatureExtraction", BestEpoch = 1,
            Accuracy = 0, EvaluatedSplit = "Test", DatasetVersion = "", CreatedAt = DateTimeOffset.UtcNow,
        });
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(WeightsPath))), withA.WeightsSha256);

        // The file is replaced while the worker runs (the registry stays): the next job must use the new weights' features.
        WriteWeights(seed: 2, DateTime.UtcNow);
        var (reused, withB) = Train(registry, images, cache);
        withB.Model.Dispose();
        var (fresh, freshB) = Train(registry, images, new FeatureCache(Path.Combine(_data.Path, "features-fresh")));
        freshB.Model.Dispose();

        Assert.Contains(reused.Logs, l => l.StartsWith($"Feature extraction: 0 images cached, computing {_images.Count}", StringComparison.Ordinal));
        // The same features as with an empty cache (up to CPU rounding between runs); the old file's features differ grossly.
        Assert.Equal(fresh.Epochs.Count, reused.Epochs.Count);
        foreach (var (expected, actual) in fresh.Epochs.Zip(reused.Epochs))
        {
            Assert.Equal(expected.TrainLoss, actual.TrainLoss, 4);
            Assert.Equal(expected.ValLoss, actual.ValLoss, 4);
        }
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(WeightsPath))), withB.WeightsSha256);
        Assert.NotEqual(withA.WeightsSha256, withB.WeightsSha256);

        // A head trained on weights A refuses to run on weights B.
        artifact.Position = 0;
        var refused = Assert.Throws<WeightFileException>(() => ModelArtifact.Load(artifact, registry));
        Assert.Contains("Put the original weights file back or train the model again", refused.Message);
    }

    [Fact]
    public void AFeatureExtractionJobReportsItsFeaturesComputedThenFromTheCacheAndTrainsOnlyItsHead()
    {
        var images = new ImageStore(Path.Combine(_data.Path, "images"), 64_000_000);
        foreach (var image in _images) images.Add(image.Sha256, image.Name, image.Data);
        var cache = new FeatureCache(Path.Combine(_data.Path, "features"));
        WriteWeights(seed: 1, DateTime.UtcNow.AddMinutes(-10));
        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);

        var (first, a) = Train(registry, images, cache);
        a.Model.Dispose();
        var (second, b) = Train(registry, images, cache);
        b.Model.Dispose();

        var computed = Assert.Single(first.Features);
        Assert.Equal((_images.Count, 0, _images.Count), (computed.Images, computed.Cached, computed.Computed));
        var cached = Assert.Single(second.Features);
        Assert.Equal((_images.Count, _images.Count, 0), (cached.Images, cached.Cached, cached.Computed));
        Assert.InRange(computed.Seconds, 0, a.Seconds);
        // A linear head on resnet18's 512 features for 2 classes: 1,026 of the model's parameters train.
        Assert.Equal(512 * 2 + 2, second.TrainableParameters);
        Assert.True(second.TotalParameters > 11_000_000);
    }
}
