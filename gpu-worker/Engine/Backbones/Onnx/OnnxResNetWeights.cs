using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones.Onnx;

/// <summary>
/// The weights of the ImageNet ResNet shipped as ResNet18.onnx (CNTK export, NuGet
/// Microsoft.ML.DnnImageFeaturizer.ResNet18), mapped to torchvision state_dict names of a BasicBlock ResNet.
/// </summary>
/// <remarks>
/// The initializer names are generated (ParameterNN, ConstantNN), so the mapping follows the graph: the Conv
/// nodes in graph order are the stem, then per block its 1×1 downsample (when it has one, placed just before
/// the block's first 3×3 conv and reading the same input), conv1 and conv2; the one BatchNormalization that
/// consumes each Conv's output supplies bn weight, bias, running_mean and running_var (its inputs 1–4).
/// Everything is checked; anything unexpected throws <see cref="WeightFileException"/>. Immutable and
/// thread-safe once loaded: the registry keeps one instance and copies it into every new module.
/// </remarks>
internal sealed class OnnxResNetWeights
{
    private const float BatchNormEpsilon = 1e-5f;
    private readonly Dictionary<string, (long[] Shape, float[] Data)> _tensors;

    private OnnxResNetWeights(Dictionary<string, (long[] Shape, float[] Data)> tensors) => _tensors = tensors;

    /// <summary>torchvision state_dict key → shape and values (num_batches_tracked is not included).</summary>
    public IReadOnlyDictionary<string, (long[] Shape, float[] Data)> Tensors => _tensors;

    /// <summary>Parses the file and maps its weights onto a ResNet with the given BasicBlock counts.</summary>
    public static OnnxResNetWeights Load(string path, IReadOnlyList<int> blockCounts)
    {
        ModelProto model;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or IOException)
        {
            throw Fail(path, $"it could not be read as an ONNX model: {e.Message}");
        }
        return FromModel(path, model, blockCounts);
    }

    /// <summary>Maps an already parsed model; <paramref name="path"/> only names it in error messages.</summary>
    internal static OnnxResNetWeights FromModel(string path, ModelProto model, IReadOnlyList<int> blockCounts)
    {
        if (model.Graph is null) throw Fail(path, "it has no graph");
        return new OnnxResNetWeights(Map(path, model.Graph, blockCounts));
    }

    /// <summary>Copies the weights into <paramref name="model"/>; its state_dict must match exactly
    /// (apart from num_batches_tracked, which stays 0).</summary>
    public void CopyInto(nn.Module model)
    {
        var stateDict = model.state_dict();
        var targets = stateDict.Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var missing = targets.Select(kv => kv.Key).Where(k => !_tensors.ContainsKey(k)).ToList();
        var extra = _tensors.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidOperationException(
                $"The ONNX weights do not fit this ResNet: missing {string.Join(", ", missing)}; unused {string.Join(", ", extra)}.");

        foreach (var (key, target) in targets)
        {
            var (shape, data) = _tensors[key];
            if (!shape.SequenceEqual(target.shape))
                throw new InvalidOperationException($"{key}: the model has {WeightFile.Format(target.shape)}, the ONNX weights {WeightFile.Format(shape)}.");
            if (target.device_type != DeviceType.CPU || target.dtype != ScalarType.Float32 || !target.is_contiguous())
                throw new InvalidOperationException($"{key}: expected a contiguous float32 CPU tensor (the registry builds on the CPU).");
            MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(target.bytes);
        }
    }

    private sealed record ConvSpec(string Conv, string Bn, long In, long Out, long Kernel, long Stride, long Padding, bool Downsample);

    /// <summary>The convolutions of a torchvision BasicBlock ResNet in the order the ONNX graph lists them.</summary>
    private static List<ConvSpec> ExpectedConvolutions(IReadOnlyList<int> blockCounts)
    {
        var specs = new List<ConvSpec> { new("conv1", "bn1", 3, 64, 7, 2, 3, false) };
        long inChannels = 64;
        long[] widths = [64, 128, 256, 512];
        for (var layer = 0; layer < 4; layer++)
        {
            var width = widths[layer];
            for (var block = 0; block < blockCounts[layer]; block++)
            {
                var prefix = $"layer{layer + 1}.{block}";
                var stride = block == 0 && layer > 0 ? 2L : 1L;
                if (block == 0 && (stride != 1 || inChannels != width))
                    specs.Add(new($"{prefix}.downsample.0", $"{prefix}.downsample.1", inChannels, width, 1, stride, 0, true));
                specs.Add(new($"{prefix}.conv1", $"{prefix}.bn1", inChannels, width, 3, stride, 1, false));
                specs.Add(new($"{prefix}.conv2", $"{prefix}.bn2", width, width, 3, 1, 1, false));
                inChannels = width;
            }
        }
        return specs;
    }

    private static Dictionary<string, (long[] Shape, float[] Data)> Map(string path, GraphProto graph, IReadOnlyList<int> blockCounts)
    {
        // Weights may be initializers or the outputs of Constant nodes.
        var constants = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var initializer in graph.Initializer) constants[initializer.Name] = initializer;
        foreach (var node in graph.Node.Where(n => n.OpType == "Constant"))
        {
            var value = node.Attribute.FirstOrDefault(a => a.Name == "value")?.T
                ?? throw Fail(path, $"Constant node '{node.Name}' has no tensor 'value'");
            constants[node.Output.Single()] = value;
        }
        var consumers = graph.Node
            .SelectMany(n => n.Input.Select(input => (input, node: n)))
            .ToLookup(x => x.input, x => x.node, StringComparer.Ordinal);

        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        var specs = ExpectedConvolutions(blockCounts);
        if (convs.Count != specs.Count)
            throw Fail(path, $"it has {convs.Count} Conv nodes; a ResNet with BasicBlocks [{string.Join(",", blockCounts)}] has {specs.Count}");
        var batchNorms = graph.Node.Count(n => n.OpType == "BatchNormalization");
        if (batchNorms != specs.Count)
            throw Fail(path, $"it has {batchNorms} BatchNormalization nodes; expected one per Conv ({specs.Count})");
        var adds = graph.Node.Count(n => n.OpType == "Add");
        if (adds != blockCounts.Sum())
            throw Fail(path, $"it has {adds} Add nodes; expected one residual sum per block ({blockCounts.Sum()})");

        var result = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
        for (var i = 0; i < specs.Count; i++)
        {
            var (spec, conv) = (specs[i], convs[i]);
            var where = $"Conv node #{i + 1} '{conv.Name}' (mapped to {spec.Conv})";
            CheckConv(path, where, conv, spec);
            if (spec.Downsample && convs[i + 1].Input[0] != conv.Input[0])
                throw Fail(path, $"{where} is a 1×1 downsample but does not read the same input as the next Conv '{convs[i + 1].Name}'");

            result[$"{spec.Conv}.weight"] = ReadTensor(path, constants, conv.Input[1], [spec.Out, spec.In, spec.Kernel, spec.Kernel], where);

            var following = consumers[conv.Output.Single()].ToList();
            if (following.Count != 1 || following[0].OpType != "BatchNormalization")
                throw Fail(path, $"{where} should feed exactly one BatchNormalization; it feeds {string.Join(", ", following.Select(n => $"{n.OpType} '{n.Name}'"))}");
            var bn = following[0];
            var bnWhere = $"BatchNormalization '{bn.Name}' (mapped to {spec.Bn})";
            CheckBatchNorm(path, bnWhere, bn);
            string[] parts = ["weight", "bias", "running_mean", "running_var"];
            for (var p = 0; p < parts.Length; p++)
                result[$"{spec.Bn}.{parts[p]}"] = ReadTensor(path, constants, bn.Input[p + 1], [spec.Out], $"{bnWhere} input {p + 1} ({parts[p]})");
        }
        return result;
    }

    private static void CheckConv(string path, string where, NodeProto conv, ConvSpec spec)
    {
        if (conv.Input.Count != 2)
            throw Fail(path, $"{where} has {conv.Input.Count} inputs; expected data and weight only (a ResNet conv has no bias)");
        Expect(path, where, conv, "kernel_shape", [spec.Kernel, spec.Kernel], required: true);
        Expect(path, where, conv, "strides", [spec.Stride, spec.Stride], required: false);
        Expect(path, where, conv, "dilations", [1, 1], required: false);
        var group = Attribute(conv, "group")?.I ?? 1;
        if (group != 1) throw Fail(path, $"{where} has group {group}; expected 1");
        var autoPad = Attribute(conv, "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
        if (autoPad is not ("NOTSET" or ""))
            throw Fail(path, $"{where} has auto_pad {autoPad}; expected explicit pads");

        // ONNX pads are [top, left, bottom, right]. CNTK writes stride-2 convs with one less padding at the end
        // ([3,3,2,2], [1,1,0,0]): for even input sizes the last window never reaches that extra row/column, so it
        // is the same as PyTorch's symmetric padding there (224 input: every strided input size is even).
        var pads = Attribute(conv, "pads")?.Ints.ToArray() ?? [0, 0, 0, 0];
        var endOk = pads.Length == 4 && pads[2] == pads[3] &&
                    (pads[2] == spec.Padding || (spec.Stride == 2 && pads[2] == spec.Padding - 1));
        if (pads.Length != 4 || pads[0] != spec.Padding || pads[1] != spec.Padding || !endOk)
            throw Fail(path, $"{where} has pads [{string.Join(",", pads)}]; expected [{spec.Padding},{spec.Padding},{spec.Padding},{spec.Padding}]");
    }

    private static void CheckBatchNorm(string path, string where, NodeProto bn)
    {
        if (bn.Input.Count != 5)
            throw Fail(path, $"{where} has {bn.Input.Count} inputs; expected 5 (x, scale, bias, mean, var)");
        var epsilon = Attribute(bn, "epsilon")?.F ?? 1e-5f;
        if (Math.Abs(epsilon - BatchNormEpsilon) > 1e-9f)
            throw Fail(path, $"{where} has epsilon {epsilon}; the ResNet uses 1e-5");
        var spatial = Attribute(bn, "spatial")?.I ?? 1;
        if (spatial != 1) throw Fail(path, $"{where} has spatial={spatial}; expected per-channel statistics (1)");
    }

    private static void Expect(string path, string where, NodeProto node, string name, long[] expected, bool required)
    {
        var attribute = Attribute(node, name);
        if (attribute is null)
        {
            if (required) throw Fail(path, $"{where} has no {name}");
            return;
        }
        if (!attribute.Ints.SequenceEqual(expected))
            throw Fail(path, $"{where} has {name} [{string.Join(",", attribute.Ints)}]; expected [{string.Join(",", expected)}]");
    }

    private static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static (long[] Shape, float[] Data) ReadTensor(string path, Dictionary<string, TensorProto> constants, string name, long[] shape, string where)
    {
        if (!constants.TryGetValue(name, out var tensor))
            throw Fail(path, $"{where}: '{name}' is neither an initializer nor a Constant");
        if (!tensor.Dims.SequenceEqual(shape))
            throw Fail(path, $"{where}: '{name}' has shape [{string.Join(", ", tensor.Dims)}]; expected {WeightFile.Format(shape)}");
        const int onnxFloat = 1;
        if (tensor.DataType != onnxFloat)
            throw Fail(path, $"{where}: '{name}' has ONNX data type {tensor.DataType}; expected FLOAT (1)");

        var count = shape.Aggregate(1L, (a, b) => a * b);
        float[] data;
        if (!tensor.RawData.IsEmpty)
        {
            if (tensor.RawData.Length != count * sizeof(float))
                throw Fail(path, $"{where}: '{name}' has {tensor.RawData.Length} bytes of raw data; expected {count * sizeof(float)}");
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian.");
            data = MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        }
        else
        {
            if (tensor.FloatData.Count != count)
                throw Fail(path, $"{where}: '{name}' has {tensor.FloatData.Count} float values; expected {count}");
            data = new float[count];
            tensor.FloatData.CopyTo(data, 0);
        }
        if (!Array.TrueForAll(data, float.IsFinite))
            throw Fail(path, $"{where}: '{name}' contains NaN or infinite values");
        return (shape, data);
    }

    private static WeightFileException Fail(string path, string problem) =>
        new($"Pretrained weights '{Path.GetFileName(path)}' do not have the expected ResNet structure: {problem}.");
}
