using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine.Backbones;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Backbones;

/// <summary>Registries over temporary weights folders (and no pretrained file, so nothing large is parsed).</summary>
[Collection(BackbonesCollection.Name)]
public sealed class RegistryTests : IDisposable
{
    private readonly TempFolder _weights = TempFolder.Create();
    private readonly TempFolder _noPretrained = TempFolder.Create();

    public void Dispose()
    {
        _weights.Dispose();
        _noPretrained.Dispose();
    }

    private BackboneRegistry CreateRegistry() => BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);

    [Fact]
    public void UnknownBackboneMessageListsEveryAvailableName()
    {
        var registry = CreateRegistry();

        var error = Assert.Throws<UnknownBackboneException>(() => registry.Create("resnet152-imagenet"));

        Assert.Contains("'resnet152-imagenet'", error.Message);
        foreach (var name in new[] { "resnet18x3-random", "mobilenet_v2-random", "resnet50-random" })
            Assert.Contains(name, error.Message);
        Assert.DoesNotContain(BackboneRegistry.PretrainedName, error.Message); // listed only when usable
    }

    [Fact]
    public void MissingFoldersAndPretrainedFileDoNotFailTheRegistry()
    {
        var weights = Path.Combine(_weights.Path, "not", "there", "yet");

        var registry = BackboneRegistry.Create(weights, _noPretrained.Path, NullLogger.Instance);

        Assert.True(Directory.Exists(weights));
        var pretrained = registry.Descriptors[^1];
        Assert.Equal(BackboneRegistry.PretrainedName, pretrained.Name);
        Assert.Contains(BackboneRegistry.PretrainedFileName, pretrained.Error);
        var error = Assert.Throws<WeightFileException>(() => registry.Create(BackboneRegistry.PretrainedName));
        Assert.Equal(pretrained.Error, error.Message);
        Assert.Equal(["resnet18x3-random", "mobilenet_v2-random", "resnet50-random"],
            registry.Descriptors.Where(d => d.Error is null).Select(d => d.Name));
    }

    [Fact]
    public void RoundTrippedPtFileIsOfferedAndLoadsExactly()
    {
        using var source = torchvision.models.mobilenet_v2();
        source.save_py(Path.Combine(_weights.Path, "mobilenet_v2-imagenet.pt"));
        File.WriteAllText(Path.Combine(_weights.Path, "vgg16.pt"), "not a supported architecture");
        File.WriteAllText(Path.Combine(_weights.Path, "notes.txt"), "ignored");

        var registry = CreateRegistry();

        var descriptor = registry.Descriptors[0];
        Assert.Equal("mobilenet_v2-imagenet", descriptor.Name);
        Assert.Null(descriptor.Error);
        Assert.True(descriptor.Pretrained);
        Assert.Equal((1280, 7), (descriptor.FeatureDim, descriptor.Stages));
        // A dropped-in file's licence is not something the worker can know; it says so instead of guessing.
        Assert.Equal(BackboneRegistry.WeightsFileLicence, descriptor.WeightsLicence);
        Assert.DoesNotContain(registry.Descriptors, d => d.Name is "vgg16" or "notes");

        using var backbone = registry.Create("mobilenet_v2-imagenet");
        Assert.IsType<TorchVisionMobileNetV2Backbone>(backbone);
        BackboneAssert.SameState(source, backbone, key => !key.StartsWith("classifier.", StringComparison.Ordinal));
        Assert.Equal(backbone.parameters().Sum(p => p.numel()), descriptor.Parameters);
    }

    [Fact]
    public void RoundTrippedSafetensorsFileIsOfferedAndLoadsExactly()
    {
        using var source = torchvision.models.resnet18(num_classes: 10);
        source.save_safetensors(Path.Combine(_weights.Path, "resnet18-tuned.safetensors"));

        var registry = CreateRegistry();

        var descriptor = Assert.Single(registry.Descriptors, d => d.Name == "resnet18-tuned");
        Assert.Null(descriptor.Error);
        Assert.Equal((512, 5), (descriptor.FeatureDim, descriptor.Stages));
        using var backbone = registry.Create("resnet18-tuned");
        BackboneAssert.SameState(source, backbone, key => !key.StartsWith("fc.", StringComparison.Ordinal));

        backbone.eval();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        Assert.Equal([1L, 512], backbone.call(torch.rand(1, 3, 64, 64)).shape);
    }

    [Fact]
    public void WeightFileThatDoesNotFitIsListedWithEveryProblemAndRefusedOnCreate()
    {
        using var source = torchvision.models.mobilenet_v2();
        var stateDict = source.state_dict();
        using var scope = torch.NewDisposeScope(); // the replacement tensors below
        stateDict["features.1.conv.0.0.weight"] = torch.zeros(32, 3, 3, 3); // depthwise conv expects [32, 1, 3, 3]
        stateDict.Remove("features.18.1.bias");
        stateDict["extra.weight"] = torch.zeros(4);
        stateDict["classifier.1.weight"] = torch.zeros(5, 1280); // a different head is fine
        stateDict["classifier.1.bias"] = torch.zeros(5);
        PyTorchPickler.PickleStateDict(Path.Combine(_weights.Path, "mobilenet_v2-bad.pth"), stateDict);

        var registry = CreateRegistry();

        var descriptor = registry.Descriptors[^1];
        Assert.Equal("mobilenet_v2-bad", descriptor.Name);
        Assert.NotNull(descriptor.Error);
        Assert.Contains("mobilenet_v2-bad.pth", descriptor.Error);
        Assert.Contains("features.1.conv.0.0.weight: expected [32, 1, 3, 3], found [32, 3, 3, 3]", descriptor.Error);
        Assert.Contains("1 missing key: features.18.1.bias", descriptor.Error);
        Assert.Contains("1 unexpected key: extra.weight", descriptor.Error);
        Assert.DoesNotContain("classifier.1", descriptor.Error);

        var error = Assert.Throws<WeightFileException>(() => registry.Create("mobilenet_v2-bad"));
        Assert.Equal(descriptor.Error, error.Message);
        var unknown = Assert.Throws<UnknownBackboneException>(() => registry.Create("nope"));
        Assert.DoesNotContain("mobilenet_v2-bad", unknown.Message);
    }

    [Fact]
    public void UnreadableWeightFileIsListedWithAnError()
    {
        File.WriteAllBytes(Path.Combine(_weights.Path, "resnet34-broken.pt"), [1, 2, 3, 4, 5]);

        var registry = CreateRegistry();

        var descriptor = Assert.Single(registry.Descriptors, d => d.Name == "resnet34-broken");
        Assert.Contains("resnet34-broken.pt", descriptor.Error);
        Assert.Contains("could not be read", descriptor.Error);
        Assert.Throws<WeightFileException>(() => registry.Create("resnet34-broken"));
    }
}
