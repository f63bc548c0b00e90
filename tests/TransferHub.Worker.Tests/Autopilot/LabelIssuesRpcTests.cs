using Grpc.Core;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Autopilot;

/// <summary>FindLabelIssues through the worker's RPC, on real images with the pretrained backbone.</summary>
[Collection(WorkerCollection.Name)]
public sealed class LabelIssuesRpcTests(WorkerFactory worker)
{
    /// <summary>T-shirts and trousers (Fashion-MNIST), every split; two trousers given the T-shirt label.</summary>
    [Fact]
    public async Task TrousersLabelledAsTShirtsAreFlaggedWithTrouserSuggested()
    {
        var images = TestImages.Fashion(classes: 2, train: 12, val: 4, test: 4).Where(i => i.ClassIndex is 0 or 1).ToList();
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(images)).Rejected);
        var spec = WorkerClientExtensions.Spec("labels", images, classes: 2);
        spec.ImageSize = 64;
        var wrong = spec.Items.Where(i => i.ClassIndex == 1).Take(2).ToList();
        foreach (var item in wrong) item.ClassIndex = 0;

        var found = await client.FindLabelIssuesAsync(new FindLabelIssuesRequest { Spec = spec });

        var issues = found.Issues.Where(i => i.LikelyMislabelled).ToList();
        foreach (var item in wrong)
        {
            var issue = Assert.Single(issues, i => i.Sha256 == item.Sha256);
            Assert.Equal(0, issue.GivenClassIndex);
            Assert.Equal(1, issue.SuggestedClassIndex);
            Assert.True(issue.SelfConfidence < 0.5, $"self-confidence {issue.SelfConfidence}");
        }
        Assert.True(issues.Count <= 4, $"{issues.Count} flagged of 40 with 2 wrong");
        Assert.Equal(spec.Items.Count * 2, found.OutOfFoldProbabilities.Count);
        Assert.Equal(4, found.ConfidentJoint.Count);
        Assert.Equal(5, found.Folds);
        Assert.Contains("prune", found.Method, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task OneClassOrNoSpecIsRefusedWithTheReason()
    {
        var images = TestImages.Fashion(classes: 1, train: 4, val: 0, test: 0);
        var client = worker.Client();
        await client.UploadAsync(images);
        var none = await Assert.ThrowsAsync<RpcException>(() => client.FindLabelIssuesAsync(new FindLabelIssuesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, none.StatusCode);
        Assert.Contains("spec is required", none.Status.Detail);

        var spec = WorkerClientExtensions.Spec("labels-one", images, classes: 2);
        var one = await Assert.ThrowsAsync<RpcException>(() => client.FindLabelIssuesAsync(new FindLabelIssuesRequest { Spec = spec }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, one.StatusCode);
        Assert.Contains("Class 'trouser' has no", one.Status.Detail);
    }
}
