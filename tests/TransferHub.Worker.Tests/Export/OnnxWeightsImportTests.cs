using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using TransferHub.Worker.Tests.Infrastructure;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Export;

/// <summary>ONNX files (TransferHub's own exports, torch.onnx.export-style files with BatchNorm folded into the
/// convolutions and generated initializer names, and — where Debian's python3-torch is installed — files PyTorch's own
/// <c>torch.onnx.export</c> wrote) and timm-named state_dicts dropped into the weights folder load into the TorchVision
/// architectures.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxWeightsImportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _weights = TempFolder.Create();
    private readonly TempFolder _noPretrained = TempFolder.Create();

    public void Dispose()
    {
        _weights.Dispose();
        _noPretrained.Dispose();
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    [InlineData("mobilenet_v2")]
    public void AnExportedModelLoadsBackFromTheWeightsFolderWithIdenticalWeightsAndOutputs(string architecture)
    {
        using var original = OnnxTestSupport.RandomBackbone(architecture, seed: 21);
        using var model = OnnxTestSupport.Classifier(original, 3, 0, seed: 22);
        var onnx = OnnxTestSupport.Export(model, OnnxTestSupport.Metadata(original, ["a", "b", "c"], 32, ResizeMode.Squash));
        File.WriteAllBytes(Path.Combine(_weights.Path, $"{architecture}-roundtrip.onnx"), onnx);

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        var descriptor = Assert.Single(registry.Descriptors, d => d.Name == $"{architecture}-roundtrip");
        Assert.Null(descriptor.Error);
        using var loaded = registry.Create(descriptor.Name);

        // Every weight and statistic identical (ONNX has no BatchNorm step counter: num_batches_tracked stays 0).
        var expectedState = original.state_dict().Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var loadedState = loaded.state_dict();
        Assert.All(loadedState.Keys, key => Assert.True(key.EndsWith(".num_batches_tracked", StringComparison.Ordinal) || expectedState.Any(kv => kv.Key == key), key));
        foreach (var (key, tensor) in expectedState)
            Assert.True(BackboneAssert.Identical(tensor, loadedState[key]), $"{key} differs");
        var input = RandomInput(2, 32);
        var expected = BackboneAssert.Features(original, input, [2, 3, 32, 32]);
        var actual = BackboneAssert.Features(loaded, input, [2, 3, 32, 32]);
        Assert.Equal(0f, BackboneAssert.MaxAbsDifference(expected, actual));
    }

    [Theory]
    [InlineData("resnet34")]
    [InlineData("mobilenet_v2")]
    public void AFileWithBatchNormFoldedIntoTheConvolutionsAndGeneratedNamesComputesTheSameFeatures(string architecture)
    {
        using var original = OnnxTestSupport.RandomBackbone(architecture, seed: 31);
        using var model = OnnxTestSupport.Classifier(original, 3, 0, seed: 32);
        var proto = OnnxExporter.Build(model, OnnxTestSupport.Metadata(original, ["a", "b", "c"], 32, ResizeMode.Squash));
        FoldBatchNormAndRename(proto.Graph);
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "BatchNormalization");
        File.WriteAllBytes(Path.Combine(_weights.Path, $"{architecture}-folded.onnx"), proto.ToByteArray());

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        Assert.Null(Assert.Single(registry.Descriptors, d => d.Name == $"{architecture}-folded").Error);
        using var loaded = registry.Create($"{architecture}-folded");

        var input = RandomInput(2, 32);
        var expected = BackboneAssert.Features(original, input, [2, 3, 32, 32]);
        var actual = BackboneAssert.Features(loaded, input, [2, 3, 32, 32]);
        var delta = BackboneAssert.MaxAbsDifference(expected, actual);
        var scale = expected.Max(Math.Abs);
        output.WriteLine($"{architecture} folded: max |Δ feature| = {delta:E2}, max |feature| = {scale:F3}");
        Assert.True(delta <= 1e-5f * Math.Max(1f, scale), $"max |Δ| {delta} for features up to {scale}");
    }

    /// <summary>Opt-in (issue 12 §4): TestData/pytorch/torch_onnx_export.py writes PyTorch's own export (eval mode,
    /// opset 17, BatchNorm folded, generated names, dynamic batch) and PyTorch's pooled features of a random input; the
    /// file loads from the weights folder and computes those features. Skipped, with the reason, without PyTorch (CI).</summary>
    [PyTorchTheory]
    [InlineData("resnet18", 512)]
    [InlineData("resnet34", 512)]
    [InlineData("resnet50", 2048)]
    [InlineData("mobilenet_v2", 1280)]
    public void AFileTorchOnnxExportWroteComputesPyTorchsOwnFeatures(string architecture, int featureDim)
    {
        const int batch = 2, size = 64;
        PyTorch.Run(Path.Combine(AppContext.BaseDirectory, "TestData", "pytorch", "torch_onnx_export.py"),
            architecture, _weights.Path, "--size", $"{size}", "--batch", $"{batch}");
        var input = ReadFloats(Path.Combine(_weights.Path, $"{architecture}.input.f32"));
        var expected = ReadFloats(Path.Combine(_weights.Path, $"{architecture}.features.f32"));
        Assert.Equal(batch * 3 * size * size, input.Length);
        Assert.Equal(batch * featureDim, expected.Length);

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        var descriptor = Assert.Single(registry.Descriptors, d => d.Name == $"{architecture}-pytorch");
        Assert.Null(descriptor.Error);
        using var loaded = registry.Create(descriptor.Name);
        var actual = BackboneAssert.Features(loaded, input, [batch, 3, size, size]);

        var delta = BackboneAssert.MaxAbsDifference(expected, actual);
        var scale = expected.Max(Math.Abs);
        output.WriteLine($"{architecture} from torch.onnx.export: max |Δ feature| = {delta:E2}, max |feature| = {scale:F3}");
        Assert.True(delta <= 1e-4f * Math.Max(1f, scale), $"max |Δ| {delta} for features up to {scale}");
    }

    [Fact]
    public void AnOnnxFileOfAnotherArchitectureIsRefusedWithEveryMismatchListed()
    {
        using var backbone = OnnxTestSupport.RandomBackbone("resnet18", seed: 41);
        using var model = OnnxTestSupport.Classifier(backbone, 2, 0, seed: 42);
        File.WriteAllBytes(Path.Combine(_weights.Path, "resnet34-mislabelled.onnx"),
            OnnxTestSupport.Export(model, OnnxTestSupport.Metadata(backbone, ["a", "b"], 32, ResizeMode.Squash)));
        File.WriteAllBytes(Path.Combine(_weights.Path, "resnet50-garbage.onnx"), [1, 2, 3, 4, 5]);

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        var mislabelled = Assert.Single(registry.Descriptors, d => d.Name == "resnet34-mislabelled").Error;
        output.WriteLine(mislabelled);
        Assert.NotNull(mislabelled);
        Assert.Contains("it has 20 Conv nodes, torchvision resnet34 has 36", mislabelled);
        Assert.Contains("expected layer", mislabelled); // names where the layouts part
        Assert.Contains("could not be read as an ONNX model", Assert.Single(registry.Descriptors, d => d.Name == "resnet50-garbage").Error);
        Assert.Throws<WeightFileException>(() => registry.Create("resnet34-mislabelled"));
    }

    [Fact]
    public void ATimmMobileNetV2StateDictLoadsUnderTorchVisionNames()
    {
        using var original = OnnxTestSupport.RandomBackbone("mobilenet_v2", seed: 51);
        var timm = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in original.state_dict()) timm[ToTimm(key)] = tensor;
        Assert.Contains("blocks.6.0.conv_pwl.weight", timm.Keys); // the last inverted residual (features.17)
        timm["classifier.weight"] = torch.zeros(1000, 1280);
        timm["classifier.bias"] = torch.zeros(1000);
        Safetensors.SaveStateDict(Path.Combine(_weights.Path, "mobilenet_v2-timm.safetensors"), timm);

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        Assert.Null(Assert.Single(registry.Descriptors, d => d.Name == "mobilenet_v2-timm").Error);
        using var loaded = registry.Create("mobilenet_v2-timm");
        BackboneAssert.SameState(original, loaded);
    }

    /// <summary>timm's mobilenetv2_100 name of a torchvision MobileNetV2 key (timm stages hold 1,2,3,4,3,3,1 blocks).</summary>
    private static string ToTimm(string key)
    {
        int[] stageSizes = [1, 2, 3, 4, 3, 3, 1];
        var parts = key.Split('.');
        var block = int.Parse(parts[1]);
        if (block == 0) return (parts[2] == "0" ? "conv_stem." : "bn1.") + string.Join('.', parts[3..]);
        if (block == 18) return (parts[2] == "0" ? "conv_head." : "bn2.") + string.Join('.', parts[3..]);
        var (stage, index, start) = (0, 0, 1);
        while (block >= start + stageSizes[stage]) start += stageSizes[stage++];
        index = block - start;
        var path = string.Join('.', parts[3..^1]); // after "features.k.conv"
        var name = (block == 1, path) switch
        {
            (true, "0.0") => "conv_dw", (true, "0.1") => "bn1", (true, "1") => "conv_pw", (true, "2") => "bn2",
            (false, "0.0") => "conv_pw", (false, "0.1") => "bn1", (false, "1.0") => "conv_dw", (false, "1.1") => "bn2",
            (false, "2") => "conv_pwl", (false, "3") => "bn3",
            _ => throw new InvalidOperationException(key),
        };
        return $"blocks.{stage}.{index}.{name}.{parts[^1]}";
    }

    /// <summary>What torch.onnx.export does in eval mode: every Conv → BatchNormalization pair becomes one Conv with
    /// w·γ/√(var+ε) and bias β − mean·γ/√(var+ε); initializers get generated names.</summary>
    private static void FoldBatchNormAndRename(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        float[] Values(string name) => MemoryMarshal.Cast<byte, float>(initializers[name].RawData.Span).ToArray();
        foreach (var bn in graph.Node.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            var conv = graph.Node.Single(n => n.Output[0] == bn.Input[0]);
            var (gamma, beta, mean, variance) = (Values(bn.Input[1]), Values(bn.Input[2]), Values(bn.Input[3]), Values(bn.Input[4]));
            var epsilon = bn.Attribute.Single(a => a.Name == "epsilon").F;
            var weight = Values(conv.Input[1]);
            var perChannel = weight.Length / gamma.Length;
            var bias = new float[gamma.Length];
            for (var c = 0; c < gamma.Length; c++)
            {
                var factor = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
                for (var i = 0; i < perChannel; i++) weight[c * perChannel + i] *= factor;
                bias[c] = beta[c] - mean[c] * factor;
            }
            initializers[conv.Input[1]].RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(weight.AsSpan()));
            var biasName = conv.Input[1] + ".folded_bias";
            var biasTensor = new TensorProto { Name = biasName, DataType = 1, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(bias.AsSpan())) };
            biasTensor.Dims.Add(bias.Length);
            graph.Initializer.Add(biasTensor);
            initializers[biasName] = biasTensor;
            conv.Input.Add(biasName);
            foreach (var node in graph.Node)
                for (var i = 0; i < node.Input.Count; i++)
                    if (node.Input[i] == bn.Output[0]) node.Input[i] = conv.Output[0];
            graph.Node.Remove(bn);
            foreach (var name in bn.Input.Skip(1)) graph.Initializer.Remove(initializers[name]);
        }
        var renames = new Dictionary<string, string>();
        var counter = 100;
        foreach (var tensor in graph.Initializer) renames[tensor.Name] = tensor.Name = $"onnx::Conv_{counter++}";
        foreach (var node in graph.Node)
            for (var i = 0; i < node.Input.Count; i++)
                if (renames.TryGetValue(node.Input[i], out var renamed)) node.Input[i] = renamed;
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    private static float[] RandomInput(int batch, int size)
    {
        var random = new Random(5);
        var input = new float[batch * 3 * size * size];
        for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 4 - 2);
        return input;
    }
}
