using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using TransferHub.Worker.Tests.Export;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Inference;

/// <summary>Feature extraction and the autopilot compute a frozen backbone's features through ONNX Runtime on the CPU
/// (issue 16): they must be TorchSharp's features, within 1e-4, for every view and pooling the worker uses.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class FrozenFeaturesTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const float Tolerance = 1e-4f;

    [Theory]
    [InlineData(1, false, 224)]
    [InlineData(2, false, 96)]
    [InlineData(2, true, 96)]
    public void OnnxRuntimeFeaturesOfThePretrainedResNetAreTorchSharpsWithin1e4(int stages, bool flip, int size)
    {
        using var backbone = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        backbone.eval();
        var pipeline = new TransformPipeline(size, ResizeMode.Squash, AugmentationOptions.None, backbone.Descriptor.Normalization);
        var images = OnnxTestSupport.Images(photos: true, 3, pipeline, seed: 1).Concat(OnnxTestSupport.Images(photos: false, 1, pipeline, seed: 2)).ToList();
        var pixels = OnnxTestSupport.Normalized(pipeline, images);

        var ort = FrozenFeatures.Compute(backbone, stages, pixels, images.Count, size, torch.CPU, flip);
        float[] reference;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var input = torch.tensor(pixels, [images.Count, 3, size, size]);
            reference = backbone.PooledStages(flip ? input.flip(3) : input, stages).data<float>().ToArray();
        }

        Assert.Equal(images.Count * backbone.PooledDim(stages), ort.Length);
        var delta = OnnxTestSupport.MaxAbsDifference(reference, ort);
        output.WriteLine($"stages {stages} flip {flip} {size}px: max |Δ| = {delta:E2}, max |feature| = {reference.Max(Math.Abs):F2}");
        Assert.True(delta < Tolerance, $"max |Δ| {delta} ≥ {Tolerance}");
        Assert.True(reference.Max() > 0.5f, "features are too small for the comparison to mean anything");
    }

    [Fact]
    public void MirroringThePixelsIsTorchsFlipAlongTheWidth()
    {
        var pixels = Enumerable.Range(0, 2 * 3 * 5 * 5).Select(i => (float)i).ToArray();
        using var flipped = torch.tensor(pixels, [2, 3, 5, 5]).flip(3);
        Assert.Equal(flipped.data<float>().ToArray(), FrozenFeatures.Mirror(pixels, 2, 5));
    }
}
