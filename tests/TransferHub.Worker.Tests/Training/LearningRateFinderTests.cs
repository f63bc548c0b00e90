using Grpc.Core;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Training;

/// <summary>The learning-rate range test through the worker's RPC, on real images with the pretrained backbone.</summary>
[Collection(WorkerCollection.Name)]
public sealed class LearningRateFinderTests(WorkerFactory worker, ITestOutputHelper output)
{
    private static readonly IReadOnlyList<TestImage> Images = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 0);

    /// <summary>The rate the finder suggests is within a decade of the rate that, trained for real, reaches the lowest
    /// validation loss on the same data (the "known good" one, found by a grid over decades).</summary>
    [Fact]
    public async Task TheSuggestedRateIsWithinADecadeOfTheBestRateOnAGrid()
    {
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(Images)).Rejected);
        var spec = WorkerClientExtensions.Spec("lr-find", Images, classes: 3);
        spec.Epochs = 15;
        spec.BatchSize = 4;

        var found = await client.FindLearningRateAsync(new FindLearningRateRequest { Spec = spec, Steps = 120 });

        Assert.InRange(found.Points.Count, 10, 120);
        Assert.True(found.Points.Zip(found.Points.Skip(1)).All(p => p.Second.LearningRate > p.First.LearningRate), "rates must rise");
        Assert.True(found.Suggested <= found.Minimum / 10 * (1 + 1e-9), $"suggested {found.Suggested} above a tenth of the minimum's rate {found.Minimum}");
        Assert.Contains("lowest", found.Explanation);

        var grid = new[] { 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1 };
        var valLoss = new Dictionary<double, double>();
        foreach (var rate in grid)
        {
            var run = spec.Clone();
            run.JobId = $"lr-grid-{Array.IndexOf(grid, rate)}";
            run.LearningRate = (float)rate;
            run.EarlyStoppingPatience = 0;
            var events = await client.StartJob(run).ReadAllAsync();
            var epochs = events.Where(e => e.Epoch is not null).Select(e => e.Epoch).ToList();
            valLoss[rate] = epochs.Count > 0 && epochs.All(e => float.IsFinite(e.ValLoss)) ? epochs.Min(e => e.ValLoss) : double.PositiveInfinity;
        }
        // The known good rates: those whose best validation loss is within 0.05 nats of the grid's best (on an easy set
        // several decades train equally well; the finder must land within a decade of one of them).
        var lowest = valLoss.Values.Min();
        var good = valLoss.Where(kv => kv.Value <= lowest + 0.05).Select(kv => kv.Key).ToList();
        output.WriteLine($"suggested {found.Suggested:G3} (minimum {found.Minimum:G3}, steepest {found.Steepest:G3}); good on the grid {string.Join(", ", good)}; " +
                         string.Join(", ", valLoss.Select(kv => $"{kv.Key:G1}: {kv.Value:F3}")));
        Assert.Contains(good, rate => Math.Abs(Math.Log10(found.Suggested) - Math.Log10(rate)) <= 1.0 + 1e-9);
        Assert.DoesNotContain(1.0, good); // the grid does show a rate too large, so "good" is not everything
    }

    [Fact]
    public async Task AutoModeAndTooManyStepsAreRefusedWithAReason()
    {
        var client = worker.Client();
        await client.UploadAsync(Images);
        var spec = WorkerClientExtensions.Spec("lr-auto", Images, classes: 3);
        spec.Mode = JobMode.Auto;
        var auto = await Assert.ThrowsAsync<RpcException>(() => client.FindLearningRateAsync(new FindLearningRateRequest { Spec = spec }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, auto.StatusCode);
        Assert.Contains("Auto mode has no learning rate", auto.Status.Detail);

        spec.Mode = JobMode.FeatureExtraction;
        var steps = await Assert.ThrowsAsync<RpcException>(() => client.FindLearningRateAsync(new FindLearningRateRequest { Spec = spec, Steps = 501 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, steps.StatusCode);
        Assert.Contains("steps must be 0 (= 100) to 500", steps.Status.Detail);
    }
}
