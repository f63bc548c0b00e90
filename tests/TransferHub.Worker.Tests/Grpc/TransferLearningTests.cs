using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Grpc;

[Collection(WorkerCollection.Name)]
public sealed class TransferLearningTests(WorkerFactory worker, ITestOutputHelper output)
{
    // Measured on this data (10 Fashion-MNIST classes, 24 train / 8 val / 8 test per class, 112 px, 30 epochs, seed 1):
    // pretrained 80.0 %, random init 56.2 % (at 64 px random features nearly tie: 73.8 % vs 68.8 %, so the test uses
    // 112 px). The thresholds leave a wide margin below the measured values.
    private const float PretrainedMinimum = 0.70f;
    private const float MarginOverRandomInit = 0.12f;

    [Fact]
    public async Task PretrainedFeatureExtractionBeatsARandomInitBackboneTrainedTheSameWay()
    {
        var images = TestImages.Fashion();
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(images)).Rejected);

        async Task<JobCompleted> Train(string id, string backbone)
        {
            var spec = WorkerClientExtensions.Spec(id, images, classes: 10, backbone: backbone);
            spec.ImageSize = 112;
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
