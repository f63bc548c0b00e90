using Google.Protobuf;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Backbones.Onnx;

namespace TransferHub.Worker.Tests.Backbones;

/// <summary>The real ResNet18.onnx, parsed once; each test maps a modified copy of it.</summary>
public sealed class ParsedOnnxModel
{
    public ModelProto Model { get; } = ParseFile();
    internal OnnxResNetWeights Original => _original.Value;
    private readonly Lazy<OnnxResNetWeights> _original;

    public ParsedOnnxModel() => _original = new(() => OnnxResNetWeights.FromModel("ResNet18.onnx", Model, Blocks));

    public static readonly int[] Blocks = [2, 2, 2, 3];

    private static ModelProto ParseFile()
    {
        using var stream = File.OpenRead(PretrainedResNetFixture.OnnxPath);
        return ModelProto.Parser.ParseFrom(stream);
    }
}

[Collection(BackbonesCollection.Name)]
public sealed class OnnxResNetWeightsTests(ParsedOnnxModel parsed) : IClassFixture<ParsedOnnxModel>
{
    private static NodeProto Conv(GraphProto graph, int index) => graph.Node.Where(n => n.OpType == "Conv").ElementAt(index);

    private static TensorProto Initializer(GraphProto graph, string name) => graph.Initializer.Single(t => t.Name == name);

    [Fact]
    public void ConvolutionWithABiasIsRefusedNamingTheLayer()
    {
        var model = parsed.Model.Clone();
        var conv = Conv(model.Graph, 1); // layer1.0.conv1
        conv.Input.Add(model.Graph.Initializer[0].Name);

        var error = Assert.Throws<WeightFileException>(() => OnnxResNetWeights.FromModel("ResNet18.onnx", model, ParsedOnnxModel.Blocks));

        Assert.Contains("layer1.0.conv1", error.Message);
        Assert.Contains("bias", error.Message);
    }

    [Fact]
    public void UnexpectedTensorShapeIsRefusedWithBothShapes()
    {
        var model = parsed.Model.Clone();
        var batchNorm = model.Graph.Node.Single(n => n.OpType == "BatchNormalization" && n.Input[0] == Conv(model.Graph, 0).Output[0]);
        var scale = Initializer(model.Graph, batchNorm.Input[1]);
        scale.Dims.Clear();
        scale.Dims.Add([32, 2]);

        var error = Assert.Throws<WeightFileException>(() => OnnxResNetWeights.FromModel("ResNet18.onnx", model, ParsedOnnxModel.Blocks));

        Assert.Contains("bn1", error.Message);
        Assert.Contains("[32, 2]", error.Message);
        Assert.Contains("expected [64]", error.Message);
    }

    [Fact]
    public void GraphOfAnotherDepthIsRefused()
    {
        var error = Assert.Throws<WeightFileException>(() => OnnxResNetWeights.FromModel("ResNet18.onnx", parsed.Model, [2, 2, 2, 2]));

        Assert.Contains("22 Conv nodes", error.Message);
        Assert.Contains("[2,2,2,2] has 20", error.Message);
    }

    [Fact]
    public void WeightsInRawDataOrConstantNodesMapToTheSameValues()
    {
        var model = parsed.Model.Clone();
        var graph = model.Graph;
        // The stem's weight as little-endian raw_data instead of float_data …
        var stemWeight = Initializer(graph, Conv(graph, 0).Input[1]);
        stemWeight.RawData = ByteString.CopyFrom(stemWeight.FloatData.SelectMany(BitConverter.GetBytes).ToArray());
        stemWeight.FloatData.Clear();
        // … and layer4.2.conv2's weight as the output of a Constant node instead of an initializer.
        var lastWeight = Initializer(graph, Conv(graph, 21).Input[1]);
        graph.Initializer.Remove(lastWeight);
        var constant = new NodeProto { OpType = "Constant", Name = "moved" };
        constant.Output.Add(lastWeight.Name);
        constant.Attribute.Add(new AttributeProto { Name = "value", T = lastWeight });
        graph.Node.Insert(0, constant);

        var mapped = OnnxResNetWeights.FromModel("ResNet18.onnx", model, ParsedOnnxModel.Blocks);

        Assert.Equal(parsed.Original.Tensors.Keys.Order(), mapped.Tensors.Keys.Order());
        foreach (var key in new[] { "conv1.weight", "layer4.2.conv2.weight", "layer4.2.bn2.running_var" })
        {
            Assert.Equal(parsed.Original.Tensors[key].Shape, mapped.Tensors[key].Shape);
            Assert.Equal(parsed.Original.Tensors[key].Data, mapped.Tensors[key].Data);
        }
        Assert.Equal([64L, 3, 7, 7], mapped.Tensors["conv1.weight"].Shape);
        Assert.Equal([512L, 256, 1, 1], mapped.Tensors["layer4.0.downsample.0.weight"].Shape);
    }
}
