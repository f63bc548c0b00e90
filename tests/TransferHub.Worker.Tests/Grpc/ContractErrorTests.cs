using TransferHub.Worker.Engine.Training;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using TransferHub.Imaging;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

[Collection(WorkerCollection.Name)]
public sealed class ContractErrorTests(WorkerFactory worker)
{
    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789")]
    public async Task CallsWithoutTheRightTokenAreUnauthenticated(string? token)
    {
        var client = worker.Client(token);
        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetInfoAsync(new GetInfoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        var stream = await Assert.ThrowsAsync<RpcException>(() => client.WatchJob(new WatchJobRequest { JobId = "x" }).ReadAllAsync());
        Assert.Equal(StatusCode.Unauthenticated, stream.StatusCode);
    }

    [Fact]
    public async Task HealthNeedsNoTokenAndReportsServing()
    {
        var health = new Health.HealthClient(worker.Channel());
        var response = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task GetInfoDescribesTheWorkerAndItsBackbones()
    {
        var info = await worker.Client().GetInfoAsync(new GetInfoRequest());
        Assert.Equal("test-worker", info.Name);
        Assert.Equal(DeviceKind.Cpu, info.DeviceKind);
        Assert.StartsWith("2.", info.TorchVersion);
        Assert.Equal(2, info.Capacity);
        Assert.True(info.MemoryBytes > 0);
        var pretrained = Assert.Single(info.Backbones, b => b.Name == "resnet18x3-imagenet");
        Assert.True(pretrained.Pretrained);
        Assert.Equal(512, pretrained.FeatureDim);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", pretrained.WeightsSource);
        Assert.StartsWith("MIT ", pretrained.WeightsLicence);
        var random = Assert.Single(info.Backbones, b => b.Name == "resnet18x3-random");
        Assert.False(random.Pretrained);
        Assert.StartsWith("none needed", random.WeightsLicence);
    }

    [Fact]
    public async Task ACorruptImageIsRejectedWithItsNameAndTheRestAreAccepted()
    {
        var client = worker.Client();
        var good = TestImages.Fashion(classes: 1, train: 2, val: 0, test: 0);
        var truncated = TestImages.Photo("chelsea.jpg")[..5000];
        var text = "this is not an image"u8.ToArray();
        var images = good.Append(new TestImage("cats/truncated.jpg", truncated, TestImages.Sha256(truncated), 0, DataSplit.Train))
            .Append(new TestImage("cats/notes.txt", text, TestImages.Sha256(text), 0, DataSplit.Train));

        var response = await client.UploadAsync(images);

        Assert.Equal(2, response.Rejected.Count);
        Assert.Contains(response.Rejected, r => r.Name == "cats/truncated.jpg" && r.Reason.Length > 0);
        Assert.Contains(response.Rejected, r => r.Name == "cats/notes.txt" && r.Reason.Length > 0);
        var missing = await client.FindMissingImagesAsync(new FindMissingImagesRequest { Sha256 = { images.Select(i => i.Sha256) } });
        Assert.Equal(2, missing.MissingSha256.Count);
        Assert.DoesNotContain(good[0].Sha256, missing.MissingSha256);
    }

    [Fact]
    public async Task ATruncatedProgressiveJpegIsRejectedAtUploadAndPreviewWithTheDecodersOneReason()
    {
        // The first 20 % of a progressive JPEG: SKCodec decodes it "successfully" as a blur.
        var cut = File.ReadAllBytes(Path.Combine(TestImages.Root, "cases", "truncated-progressive.jpg"));
        var expected = ImageDecoder.TruncatedReason("JPEG");

        var response = await worker.Client().UploadAsync([new TestImage("arrows/up.jpg", cut, TestImages.Sha256(cut), 0, DataSplit.Train)]);
        var preview = await Assert.ThrowsAsync<RpcException>(() => worker.Client().PreviewAugmentationsAsync(new PreviewAugmentationsRequest
        {
            Image = ByteString.CopyFrom(cut),
            Count = 1,
        }).ResponseAsync);

        Assert.Equal(0, response.Accepted);
        var rejection = Assert.Single(response.Rejected);
        Assert.Equal(("arrows/up.jpg", expected), (rejection.Name, rejection.Reason));
        Assert.Equal(StatusCode.InvalidArgument, preview.StatusCode);
        Assert.EndsWith(expected, preview.Status.Detail);
    }

    [Fact]
    public async Task AnImageWhoseBytesDoNotMatchItsHashIsRejected()
    {
        var client = worker.Client();
        var image = TestImages.Fashion(classes: 1, train: 1, val: 0, test: 0)[0];
        var other = TestImages.Photo("coffee.png");
        var response = await client.UploadAsync([image with { Sha256 = TestImages.Sha256(other), Name = "mislabelled.png" }]);
        var rejection = Assert.Single(response.Rejected);
        Assert.Equal("mislabelled.png", rejection.Name);
        Assert.Contains("hash", rejection.Reason);
    }

    [Fact]
    public async Task AnUnknownBackboneIsInvalidArgumentListingTheAvailableOnes()
    {
        var client = worker.Client();
        var images = TestImages.Fashion(classes: 2, train: 2, val: 0, test: 0);
        await client.UploadAsync(images);
        var spec = WorkerClientExtensions.Spec("unknown-backbone", images, classes: 2, backbone: "vgg99");

        var error = await Assert.ThrowsAsync<RpcException>(() => client.StartJob(spec).ReadAllAsync());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("vgg99", error.Status.Detail);
        Assert.Contains("resnet18x3-imagenet", error.Status.Detail);
        Assert.Contains("resnet18x3-random", error.Status.Detail);
    }

    [Fact]
    public async Task AnInvalidSpecSaysWhatIsWrongAndWhatIsAllowed()
    {
        var client = worker.Client();
        var images = TestImages.Fashion(classes: 2, train: 2, val: 0, test: 0);
        await client.UploadAsync(images);
        var spec = WorkerClientExtensions.Spec("bad-spec", images, classes: 2);
        spec.Epochs = 5000;
        spec.ImageSize = 8;
        spec.Augmentation = new AugmentationSettings { CropScaleMin = 0.9f, CropScaleMax = 0.5f };
        spec.Items[0].ClassIndex = 7;

        var error = await Assert.ThrowsAsync<RpcException>(() => client.StartJob(spec).ReadAllAsync());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        // The shared rules (contracts JobRules), field by field, as the web's launch form and API word them.
        Assert.Contains("epochs: Epochs must be 1 to 1000; got 5000.", error.Status.Detail);
        Assert.Contains("imageSize: Image size must be 32 to 1024 pixels; got 8.", error.Status.Detail);
        Assert.Contains("augmentation.cropScaleMax: The crop's largest area must be between its smallest (0.9) and 1; got 0.5.", error.Status.Detail);
        Assert.Contains("class_index 7; allowed 0..1", error.Status.Detail);
    }

    [Fact]
    public async Task AJobWithImagesNotOnTheWorkerIsAFailedPrecondition()
    {
        var client = worker.Client();
        var images = TestImages.Fashion(classes: 2, train: 2, val: 0, test: 0).ToList();
        await client.UploadAsync(images);
        var absent = new byte[] { 1, 2, 3 };
        images.Add(new TestImage("absent.png", absent, TestImages.Sha256(absent), 0, DataSplit.Train));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.StartJob(WorkerClientExtensions.Spec("absent", images, 2)).ReadAllAsync());

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(TestImages.Sha256(absent), error.Status.Detail);
    }

    [Fact]
    public async Task PreviewAndPredictRejectACorruptImageClearly()
    {
        var client = worker.Client();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.PreviewAugmentationsAsync(new PreviewAugmentationsRequest
        {
            Image = ByteString.CopyFromUtf8("GIF89a but not really"),
            Count = 2,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("preview image", error.Status.Detail);

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.PredictAsync(new PredictRequest { ModelId = "nope", Image = ByteString.CopyFrom(TestImages.Photo("coffee.png")) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }
}
