using Grpc.Core;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

public sealed class WorkerStartupTests
{
    [Theory]
    [InlineData("Worker:Token", "short", "Worker:Token must be at least 16 characters")]
    [InlineData("Worker:Port", "70000", "Port")]
    [InlineData("Worker:MaxConcurrentJobs", "0", "MaxConcurrentJobs")]
    [InlineData("Worker:Device", "Cuda", "no CUDA device")]
    public void InvalidConfigurationStopsTheWorkerAtStartWithAClearMessage(string key, string value, string expected)
    {
        using var factory = WorkerFactory.With(new Dictionary<string, string?> { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => factory.Server);
        var messages = string.Join(" | ", Flatten(error).Select(e => e.Message));
        Assert.Contains(expected, messages);
    }

    [Fact]
    public async Task AWeightsFileWithWrongShapesIsListedWithItsMismatchesAndRefusedForJobs()
    {
        using var factory = new WorkerFactory();
        using (var source = torchvision.models.resnet50())
        {
            var stateDict = source.state_dict();
            using var scope = torch.NewDisposeScope();
            stateDict["conv1.weight"] = torch.zeros(32, 3, 7, 7);
            PyTorchPickler.PickleStateDict(Path.Combine(factory.WeightsFolder, "resnet50-wrong.pt"), stateDict);
        }
        var client = factory.Client();

        var info = await client.GetInfoAsync(new GetInfoRequest());
        var listed = Assert.Single(info.Backbones, b => b.Name == "resnet50-wrong");
        Assert.Contains("conv1.weight: expected [64, 3, 7, 7], found [32, 3, 7, 7]", listed.Error);
        Assert.Contains(info.Backbones, b => b.Name == "resnet18x3-imagenet" && b.Error == "");

        var images = TestImages.Fashion(classes: 2, train: 2, val: 0, test: 0);
        await client.UploadAsync(images);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.StartJob(WorkerClientExtensions.Spec("wrong-weights", images, 2, backbone: "resnet50-wrong")).ReadAllAsync());
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("resnet50-wrong.pt", error.Status.Detail);
        Assert.Contains("conv1.weight", error.Status.Detail);
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            yield return x;
            if (x is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten)) yield return inner;
        }
    }
}
