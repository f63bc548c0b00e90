using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

/// <summary>The worker measures its frozen-backbone feature throughput and reports it in GetInfo, so that the web can
/// scale auto mode's default time budget to its slowest worker (issue 11).</summary>
[Collection(WorkerCollection.Name)]
public sealed class FeatureThroughputTests(WorkerFactory worker)
{
    [Fact]
    public void APassCountsEachViewAndWeighsItsSizeAgainst224Pixels()
    {
        FeatureThroughput.Reset();
        Assert.Null(FeatureThroughput.PassesPerSecond);
        FeatureThroughput.Record(computed: 31, views: 2, size: 224, seconds: 1); // too few images to say anything
        FeatureThroughput.Record(computed: 100, views: 1, size: 224, seconds: 0);
        FeatureThroughput.Record(computed: 100, views: 1, size: 64, seconds: 1); // overhead-bound: would read as 8 passes/s
        Assert.Null(FeatureThroughput.PassesPerSecond);

        FeatureThroughput.Record(computed: 64, views: 2, size: 448, seconds: 4); // 128 passes of 4× the pixels in 4 s
        Assert.Equal(128, FeatureThroughput.PassesPerSecond!.Value, 9);
        FeatureThroughput.Record(computed: 50, views: 1, size: 112, seconds: 0.5); // the latest pass wins: 50 / 4 / 0.5
        Assert.Equal(25, FeatureThroughput.PassesPerSecond!.Value, 9);
    }

    [Fact]
    public async Task GetInfoReportsWhatTheLatestFeaturePassMeasured()
    {
        FeatureThroughput.Reset();
        var client = worker.Client();
        Assert.Equal(0, (await client.GetInfoAsync(new GetInfoRequest())).FeatureImagesPerSecond);

        // 36 images at a size no other test uses, so none of their features is cached yet.
        var images = TestImages.Fashion(classes: 2, train: 20, val: 8, test: 8);
        Assert.Empty((await client.UploadAsync(images)).Rejected);
        var spec = WorkerClientExtensions.Spec("feature-throughput", images, classes: 2);
        spec.ImageSize = 120;
        spec.Epochs = 1;
        var events = await client.StartJob(spec).ReadAllAsync();
        Assert.NotNull(events[^1].Completed);

        var measured = (await client.GetInfoAsync(new GetInfoRequest())).FeatureImagesPerSecond;
        Assert.Equal(FeatureThroughput.PassesPerSecond!.Value, measured, 9);
        Assert.InRange(measured, 1e-3, 1e6);
    }
}
