using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Transforms;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Backbones;

[Collection(BackbonesCollection.Name)]
public sealed class ArchitectureTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    [Theory]
    [InlineData("resnet18x3-random", 512, 5)]
    [InlineData("mobilenet_v2-random", 1280, 7)]
    [InlineData("resnet50-random", 2048, 5)]
    public void RandomBaselinesProducePooledFeaturesAndStagesCoverEveryParameterOnce(string name, int featureDim, int stages)
    {
        var descriptor = Assert.Single(fixture.Registry.Descriptors, d => d.Name == name);
        Assert.Null(descriptor.Error);
        Assert.False(descriptor.Pretrained);
        Assert.Equal(Normalization.ImageNet, descriptor.Normalization);

        using var backbone = fixture.Registry.Create(name);
        output.WriteLine($"{name}: {descriptor.Parameters:N0} parameters");
        Assert.Equal(backbone.parameters().Sum(p => p.numel()), descriptor.Parameters);
        Assert.Equal(featureDim, descriptor.FeatureDim);
        Assert.Equal(stages, descriptor.Stages);
        Assert.Equal(stages, backbone.Stages.Count);

        var all = backbone.parameters().ToList();
        var inStages = backbone.Stages.SelectMany(s => s.parameters()).ToList();
        Assert.Equal(all.Count, inStages.Count);
        Assert.True(all.ToHashSet(ReferenceEqualityComparer.Instance).SetEquals(inStages), "stages must partition the parameters");

        backbone.eval();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var features = backbone.call(torch.rand(2, 3, 64, 64));
        Assert.Equal([2L, featureDim], features.shape);
    }

    [Theory]
    [InlineData("resnet18x3-random", 256)]
    [InlineData("mobilenet_v2-random", 160)]
    [InlineData("resnet50-random", 1024)]
    public void PooledStagesConcatenateTheLastStagesPooledOutputsAndPooledDimSaysHowWide(string name, int penultimateWidth)
    {
        using var backbone = fixture.Registry.Create(name);
        backbone.eval();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var images = torch.rand(2, 3, 64, 64);

        var one = backbone.PooledStages(images, 1);
        var two = backbone.PooledStages(images, 2);

        var last = backbone.Descriptor.FeatureDim;
        Assert.Equal(last, backbone.PooledDim(1));
        Assert.Equal(penultimateWidth + last, backbone.PooledDim(2));
        Assert.Equal([penultimateWidth, last], backbone.PooledWidths(2));
        Assert.Equal([2L, penultimateWidth + last], two.shape);
        // The last stage comes last and equals the usual pooled features; the earlier stage is its input, pooled.
        Assert.True(two.narrow(1, penultimateWidth, last).allclose(backbone.call(images), rtol: 1e-4, atol: 1e-5));
        Assert.True(one.allclose(backbone.call(images)));
        var x = images;
        for (var i = 0; i < backbone.Stages.Count - 1; i++) x = ((nn.Module<Tensor, Tensor>)backbone.Stages[i]).call(x);
        Assert.True(two.narrow(1, 0, penultimateWidth).allclose(x.mean([2, 3]), rtol: 1e-5, atol: 1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => backbone.PooledDim(backbone.Stages.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => backbone.PooledStages(images, 0));
    }

    [Fact]
    public void FreezingAStageStopsItsGradientsAndLeavesTheOthersTraining()
    {
        using var backbone = fixture.Registry.Create("resnet18x3-random");
        foreach (var stage in backbone.Stages.Take(4))
            foreach (var parameter in stage.parameters()) parameter.requires_grad = false;

        backbone.train();
        using (var scope = torch.NewDisposeScope())
        {
            backbone.call(torch.rand(2, 3, 64, 64)).sum().backward();
        }

        Assert.All(backbone.Stages.Take(4).SelectMany(s => s.parameters()), p => Assert.True(p.grad is null, "frozen parameter got a gradient"));
        Assert.All(backbone.Stages[4].parameters(), p => Assert.True(p.grad is not null, "layer4 should still train"));
        Assert.Equal(backbone.Stages[4].parameters().Sum(p => p.numel()),
            backbone.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
    }

    [Fact]
    public void OwnResNetHasTorchvisionNamesAndComputesWhatTorchvisionsResNet18Computes()
    {
        var descriptor = fixture.Registry.Descriptors.First(d => d.Name == "resnet18x3-random");
        using var torchvisionResNet18 = new TorchVisionResNetBackbone(descriptor, torchvision.models.resnet18());
        using var ours = new ResNetBackbone(descriptor, [2, 2, 2, 2]);

        var theirs = torchvisionResNet18.state_dict();
        var mine = ours.state_dict();
        Assert.Equal(theirs.Keys.Order(), mine.Keys.Order());
        Assert.Contains("layer2.0.downsample.0.weight", mine.Keys);
        Assert.Contains("layer2.0.downsample.1.running_var", mine.Keys);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", mine.Keys);

        using (torch.no_grad())
        {
            foreach (var (key, tensor) in theirs)
            {
                Assert.Equal(tensor.shape, mine[key].shape);
                mine[key].copy_(tensor);
            }
        }
        var input = Enumerable.Range(0, 2 * 3 * 96 * 96).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var difference = BackboneAssert.MaxAbsDifference(
            BackboneAssert.Features(torchvisionResNet18, input, [2, 3, 96, 96]),
            BackboneAssert.Features(ours, input, [2, 3, 96, 96]));
        Assert.True(difference < 1e-5f, $"max |Δ| {difference}");
    }

    [Fact]
    public void RandomInitIsReproducibleFromTheTorchSeed()
    {
        torch.manual_seed(7);
        using var first = fixture.Registry.Create("resnet18x3-random");
        torch.manual_seed(7);
        using var second = fixture.Registry.Create("resnet18x3-random");
        torch.manual_seed(8);
        using var third = fixture.Registry.Create("resnet18x3-random");

        BackboneAssert.SameState(first, second);
        Assert.False(BackboneAssert.Identical(first.state_dict()["conv1.weight"], third.state_dict()["conv1.weight"]));
    }
}
