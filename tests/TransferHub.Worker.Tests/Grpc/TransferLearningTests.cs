using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Grpc;

[Collection(WorkerCollection.Name)]
public sealed class TransferLearningTests(WorkerFactory worker, ITestOutputHelper output)
{
    // Measured on this suite's data (10 Fashion-MNIST classes, 24 train / 8 val / 8 test per class, 64 px):
    // see docs/benchmarks.md. Thresholds leave a wide margin below the measured values.
    private const float PretrainedMinimum = 0.60f;
    private const float MarginOverRandomInit = 0.10f;

    [Fact]
    public async Task PretrainedFeatureExtractionBeatsARandomInitBackboneTrainedTheSameWay()
    {
        var images = TestImages.Fashion();
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(images)).Rejected);

        async Task<JobCompleted> Train(string id, string backbone)
        {
            var spec = WorkerClientExtensions.Spec(id, images, classes: 10, backbone: backbone);
            spec.ImageSize = 64;
            spec.Epochs = 30;
            spec.BatchSize = 32;
            spec.Seed = 1;
            var events = await client.StartJob(spec).ReadAllAsync();
            var epochs = events.Where(e => e.Epoch is not null).Select(e => e.Epoch).ToList();
            output.WriteLine($"{backbone}: test accuracy {events[^1].Completed?.Accuracy:P1}, epoch 1 {epochs[0].Seconds:F2}s, epoch 2 {epochs[1].Seconds:F3}s, " +
                $"failed: {events[^1].Failed?.Message}");
            return events[^1].Completed ?? throw new Xunit.Sdk.XunitException(events[^1].Failed.Message);
        }

        var pretrained = await Train("transfer-pretrained", "resnet18x3-imagenet");
        var random = await Train("transfer-random", "resnet18x3-random");

        Assert.Equal(80, pretrained.Predictions.Count);
        Assert.True(pretrained.Accuracy >= PretrainedMinimum, $"pretrained accuracy {pretrained.Accuracy:P1} < {PretrainedMinimum:P0}");
        Assert.True(pretrained.Accuracy >= random.Accuracy + MarginOverRandomInit,
            $"pretrained {pretrained.Accuracy:P1} is not clearly above random init {random.Accuracy:P1}");
    }
}
