using System.Diagnostics;
using SkiaSharp;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Backbones;

[Collection(BackbonesCollection.Name)]
public sealed class PretrainedResNetTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private static readonly long[] InputShape = [1, 3, 224, 224];

    [Fact]
    public void FeaturesMatchOnnxRuntimeOnRandomInput()
    {
        // Inputs in the range the model sees: 0..255 pixels minus channel means of about 100–125.
        var random = new Random(1234);
        var input = new float[3 * 224 * 224];
        for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 255 - 115);

        using var backbone = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var ours = BackboneAssert.Features(backbone, input, InputShape);
        var reference = fixture.RunOnnx(input);

        var difference = BackboneAssert.MaxAbsDifference(ours, reference);
        output.WriteLine($"random input: max |Δ| = {difference:E2}, max |feature| = {reference.Max(Math.Abs):F3}");
        Assert.True(difference < 1e-4f, $"max |Δ| {difference} exceeds 1e-4");
    }

    [Fact]
    public void FeaturesMatchOnnxRuntimeOnARealPhoto()
    {
        var input = PhotoAsBgrMinusMeans(Path.Combine(AppContext.BaseDirectory, "TestData", "photos", "chelsea.jpg"));

        using var backbone = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var ours = BackboneAssert.Features(backbone, input, InputShape);
        var reference = fixture.RunOnnx(input);

        var difference = BackboneAssert.MaxAbsDifference(ours, reference);
        output.WriteLine($"chelsea.jpg: max |Δ| = {difference:E2}, max |feature| = {reference.Max(Math.Abs):F3}");
        Assert.True(difference < 1e-4f, $"max |Δ| {difference} exceeds 1e-4");
        Assert.True(reference.Count(v => v > 0) > 100, "a real photo should light up many features");
    }

    [Fact]
    public void PretrainedBackboneIsDescribedHonestly()
    {
        var descriptor = Assert.Single(fixture.Registry.Descriptors, d => d.Name == "resnet18x3-imagenet");
        output.WriteLine($"registry creation (parse + map ONNX, probe architectures): {fixture.RegistryCreation.TotalMilliseconds:F0} ms");
        output.WriteLine($"{descriptor.Name}: {descriptor.Parameters:N0} parameters");

        Assert.Null(descriptor.Error);
        Assert.Same(descriptor, fixture.Registry.Descriptors[0]);
        Assert.True(descriptor.Pretrained);
        Assert.Equal(224, descriptor.InputSize);
        Assert.Equal(512, descriptor.FeatureDim);
        Assert.Equal(5, descriptor.Stages);
        Assert.Contains("3-block", descriptor.DisplayName);
        Assert.Equal("ImageNet, ONNX from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", descriptor.WeightsSource);
        Assert.Equal(1f, descriptor.Normalization.Scale);
        Assert.True(descriptor.Normalization.Bgr);
        Assert.Equal([103.063f, 115.903f, 123.152f], descriptor.Normalization.Mean);
        Assert.Equal([1f, 1f, 1f], descriptor.Normalization.Std);

        using var backbone = fixture.Registry.Create(descriptor.Name);
        Assert.Equal(backbone.parameters().Sum(p => p.numel()), descriptor.Parameters);
        Assert.InRange(descriptor.Parameters, 15_700_000, 15_900_000);
        Assert.Same(descriptor, backbone.Descriptor);
    }

    [Fact]
    public void EachCreateReturnsANewIndependentModuleWithoutReparsing()
    {
        var stopwatch = Stopwatch.StartNew();
        using var first = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var firstTime = stopwatch.Elapsed;
        stopwatch.Restart();
        using var second = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var secondTime = stopwatch.Elapsed;
        output.WriteLine($"Create(): {firstTime.TotalMilliseconds:F0} ms, again {secondTime.TotalMilliseconds:F0} ms " +
                         $"(registry creation incl. ONNX parse: {fixture.RegistryCreation.TotalMilliseconds:F0} ms)");

        BackboneAssert.SameState(first, second);
        var weight = first.state_dict()["layer4.2.conv2.weight"];
        using (torch.no_grad()) weight.add_(1f);
        Assert.False(BackboneAssert.Identical(weight, second.state_dict()["layer4.2.conv2.weight"]), "fine-tuning one module must not change another");
    }

    /// <summary>Squashes the photo to 224×224 and returns planar BGR floats minus the model's channel means.</summary>
    private static float[] PhotoAsBgrMinusMeans(string path)
    {
        using var original = SKBitmap.Decode(path);
        using var resized = original.Resize(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
        var mean = BackboneRegistry.PretrainedNormalization.Mean; // B, G, R
        const int plane = 224 * 224;
        var data = new float[3 * plane];
        for (var y = 0; y < 224; y++)
        for (var x = 0; x < 224; x++)
        {
            var pixel = resized.GetPixel(x, y);
            var i = y * 224 + x;
            data[i] = pixel.Blue - mean[0];
            data[plane + i] = pixel.Green - mean[1];
            data[2 * plane + i] = pixel.Red - mean[2];
        }
        return data;
    }
}
