using System.Runtime.InteropServices;
using TorchSharp;
using TransferHub.Worker.Engine.Export;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones.Onnx;

/// <summary>
/// Reads the weights of an ONNX file of a TorchVision architecture (resnet18/34/50, mobilenet_v2) — as
/// <c>torch.onnx.export</c> writes it, or as TransferHub's own <see cref="OnnxExporter"/> does — into a torchvision
/// state_dict (keys conv1.weight, bn1.running_mean, layer1.0.conv1.weight, features.1.conv.0.0.weight, …), so the
/// weights folder's usual key-by-key, shape-by-shape check and loading apply to it.
/// </summary>
/// <remarks>
/// <para>Initializer names are not trusted (exporters generate them, e.g. <c>onnx::Conv_193</c>): the mapping follows
/// the graph. The architecture's own convolutions, in forward order (the order <see cref="OnnxExporter"/> emits them,
/// which is also the order PyTorch traces them: a block's main branch, then its downsample), are paired with the
/// file's Conv nodes in graph order; each pair must agree on weight shape, strides, pads, dilations and group, and every
/// disagreement is listed in one <see cref="WeightFileException"/>. Graph order is safe to rely on: ONNX requires
/// nodes in topological order, so within a block conv1 precedes conv2 (which reads it), and the only convolutions an
/// exporter may order either way — a block's downsample and its main branch — differ in kernel or channel count, so a
/// swap shows as a shape mismatch, never as silently exchanged weights.</para>
/// <para>BatchNorm: when a BatchNormalization node consumes the Conv's output, its scale, B, mean and var (inputs 1–4)
/// become the BatchNorm2d's weight, bias, running_mean, running_var (a Conv bias, if any, is moved into the mean).
/// When there is none, the file was exported with BatchNorm folded into the convolution (torch.onnx.export's default in
/// eval mode): the Conv's bias becomes the BatchNorm's bias and the BatchNorm is set to the identity (weight 1, mean 0,
/// var 1 − eps), which computes the same function (BatchNorm is then re-estimated from there if the backbone is
/// fine-tuned with trainable BatchNorm). Gemm/MatMul nodes (the classifier) and any preprocessing nodes are ignored.</para>
/// </remarks>
internal static class OnnxStateDict
{
    private const int OnnxFloat = 1;

    /// <exception cref="WeightFileException">unreadable, or its convolutions do not fit the architecture (each listed)</exception>
    public static Dictionary<string, Tensor> Read(string path, BackboneArchitecture architecture)
    {
        var fileName = Path.GetFileName(path);
        ModelProto model;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or IOException)
        {
            throw new WeightFileException($"Weights file '{fileName}' could not be read as an ONNX model: {e.Message}");
        }
        if (model.Graph is null) throw new WeightFileException($"Weights file '{fileName}' is an ONNX model without a graph.");
        return Map(fileName, model.Graph, Reference(architecture), architecture);
    }

    /// <summary>The architecture's own graph (random weights, never used): only its layout matters.</summary>
    private static GraphProto Reference(BackboneArchitecture architecture) => TorchRandom.Exclusive(() =>
    {
        using var rngState = torch.get_rng_state();
        try
        {
            using var probe = architecture.Build(architecture.Describe(architecture.Id, architecture.DisplayName, "probe", false,
                Transforms.Normalization.ImageNet));
            return OnnxExporter.BackboneGraph(probe);
        }
        finally
        {
            torch.set_rng_state(rngState);
        }
    });

    private sealed record ConvSite(NodeProto Conv, NodeProto? BatchNorm);

    private static List<ConvSite> ConvSites(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        return [.. graph.Node.Where(n => n.OpType == "Conv").Select(conv =>
        {
            var users = consumers.GetValueOrDefault(conv.Output[0]) ?? [];
            var bn = users.Count == 1 && users[0].OpType == "BatchNormalization" ? users[0] : null;
            return new ConvSite(conv, bn);
        })];
    }

    private static Dictionary<string, Tensor> Map(string fileName, GraphProto file, GraphProto reference, BackboneArchitecture architecture)
    {
        var initializers = file.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var referenceInitializers = reference.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var ours = ConvSites(reference);
        var theirs = ConvSites(file);
        var problems = new List<string>();
        if (ours.Count != theirs.Count)
            problems.Add($"it has {theirs.Count} Conv nodes, torchvision {architecture.Id} has {ours.Count}");

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            for (var i = 0; i < Math.Min(ours.Count, theirs.Count); i++)
            {
                var (expected, found) = (ours[i], theirs[i]);
                var weightKey = expected.Conv.Input[1];
                var where = $"Conv #{i + 1} ('{found.Conv.Name}', expected {weightKey[..weightKey.LastIndexOf('.')]})";
                if (!initializers.TryGetValue(found.Conv.Input.ElementAtOrDefault(1) ?? "", out var weight))
                {
                    problems.Add($"{where}: its weight is not an initializer");
                    continue;
                }
                var expectedDims = referenceInitializers[weightKey].Dims.ToArray();
                if (!weight.Dims.SequenceEqual(expectedDims))
                    problems.Add($"{where}: weight {WeightFile.Format([.. weight.Dims])}, expected {WeightFile.Format(expectedDims)}");
                foreach (var (name, fallback) in new[] { ("strides", 1L), ("pads", 0L), ("dilations", 1L), ("group", 1L) })
                {
                    var want = Ints(expected.Conv, name, fallback);
                    var got = Ints(found.Conv, name, fallback);
                    if (!want.SequenceEqual(got))
                        problems.Add($"{where}: {name} [{string.Join(",", got)}], expected [{string.Join(",", want)}]");
                }
                if (problems.Count > 0) continue;

                result[weightKey] = ToTensor(fileName, weight);
                var convBias = found.Conv.Input.Count > 2 && found.Conv.Input[2].Length > 0 ? Floats(fileName, initializers, found.Conv.Input[2]) : null;
                var bnKeys = expected.BatchNorm!.Input.Skip(1).Take(4).ToArray(); // weight, bias, running_mean, running_var
                var channels = expectedDims[0];
                if (found.BatchNorm is { } bn)
                {
                    var values = bn.Input.Skip(1).Take(4).Select(name => Floats(fileName, initializers, name)).ToArray();
                    if (values.Any(v => v.Length != channels))
                    {
                        problems.Add($"{where}: its BatchNormalization does not have {channels} channels");
                        continue;
                    }
                    if (convBias is not null) // (x + b − mean) = (x − (mean − b))
                        for (var c = 0; c < channels; c++) values[2][c] -= convBias[c];
                    for (var k = 0; k < 4; k++) result[bnKeys[k]] = torch.tensor(values[k]);
                }
                else
                {
                    var epsilon = expected.BatchNorm.Attribute.First(a => a.Name == "epsilon").F;
                    result[bnKeys[0]] = torch.ones(channels);
                    result[bnKeys[1]] = convBias is null ? torch.zeros(channels) : torch.tensor(convBias);
                    result[bnKeys[2]] = torch.zeros(channels);
                    result[bnKeys[3]] = torch.full(channels, 1f - epsilon);
                }
            }
        }
        catch
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            throw;
        }

        if (problems.Count == 0) return result;
        foreach (var tensor in result.Values) tensor.Dispose();
        throw new WeightFileException(
            $"ONNX weights file '{fileName}' does not fit torchvision {architecture.Id} ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): " +
            string.Join("; ", problems.Take(WeightFile.MaxListed)) +
            (problems.Count > WeightFile.MaxListed ? $"; … and {problems.Count - WeightFile.MaxListed} more." : "."));
    }

    private static long[] Ints(NodeProto node, string name, long fallback)
    {
        var attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
        if (attribute is null) return name == "pads" ? [fallback, fallback, fallback, fallback] : name == "group" ? [fallback] : [fallback, fallback];
        return name == "group" ? [attribute.I] : [.. attribute.Ints];
    }

    private static float[] Floats(string fileName, Dictionary<string, TensorProto> initializers, string name)
    {
        if (!initializers.TryGetValue(name, out var tensor))
            throw new WeightFileException($"ONNX weights file '{fileName}': '{name}' is not an initializer (weights must be stored in the file).");
        if (tensor.DataType != OnnxFloat)
            throw new WeightFileException($"ONNX weights file '{fileName}': '{name}' has ONNX data type {tensor.DataType}; expected FLOAT (1).");
        float[] values = tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
        var count = tensor.Dims.Aggregate(1L, (a, b) => a * b);
        if (values.Length != count)
            throw new WeightFileException($"ONNX weights file '{fileName}': '{name}' holds {values.Length} values for shape " +
                $"{WeightFile.Format([.. tensor.Dims])} (weights stored outside the file, as external data, are not supported).");
        return values;
    }

    private static Tensor ToTensor(string fileName, TensorProto tensor) =>
        torch.tensor(Floats(fileName, new() { [tensor.Name] = tensor }, tensor.Name), [.. tensor.Dims]);
}
