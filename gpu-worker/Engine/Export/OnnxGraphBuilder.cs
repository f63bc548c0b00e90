using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones.Onnx;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Export;

/// <summary>Accumulates the nodes and initializers of one ONNX graph (default "ai.onnx" domain) with unique
/// value names. Not thread-safe; one instance per export.</summary>
/// <param name="shareIdenticalInitializers">Store an initializer whose type, shape and bytes equal an earlier one's
/// once, under the earlier name (an ensemble's members on the same frozen backbone then carry its weights once).</param>
internal sealed class OnnxGraphBuilder(bool shareIdenticalInitializers = false)
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byContent = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>The bytes of every initializer stored so far.</summary>
    public long InitializerBytes { get; private set; }

    /// <summary>A float32 initializer holding a copy of <paramref name="tensor"/> (any device, contiguous or not),
    /// stored as little-endian raw_data.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var cpu = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return Initializer(name, cpu.data<float>().ToArray(), cpu.shape);
    }

    public string Initializer(string name, float[] data, long[] dims) =>
        Add(name, TensorProto.Types.DataType.Float, dims, MemoryMarshal.AsBytes(data.AsSpan()));

    public string Int64Initializer(string name, long[] data, long[] dims) =>
        Add(name, TensorProto.Types.DataType.Int64, dims, MemoryMarshal.AsBytes(data.AsSpan()));

    private string Add(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<byte> bytes)
    {
        string? key = null;
        if (shareIdenticalInitializers)
        {
            key = $"{(int)type}:{string.Join('x', dims)}:{Convert.ToHexString(SHA256.HashData(bytes))}";
            if (_byContent.TryGetValue(key, out var existing)) return existing;
        }
        name = Unique(name);
        var proto = new TensorProto { Name = name, DataType = (int)type };
        proto.Dims.AddRange(dims);
        proto.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(proto);
        InitializerBytes += bytes.Length;
        if (key is not null) _byContent[key] = name;
        return name;
    }

    /// <summary>Adds a node with one output, named after <paramref name="name"/> (made unique); returns the output.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var output = Unique(name);
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a node with two outputs, named after <paramref name="first"/> and <paramref name="second"/>.</summary>
    public (string First, string Second) Node2(string opType, string first, string second, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var outputs = (Unique(first), Unique(second));
        var node = new NodeProto { OpType = opType, Name = outputs.Item1 };
        node.Input.AddRange(inputs);
        node.Output.Add(outputs.Item1);
        node.Output.Add(outputs.Item2);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A float32 tensor value info; a null dimension is symbolic (named <paramref name="symbolicDim"/>).</summary>
    public static ValueInfoProto FloatTensor(string name, long?[] dims, string symbolicDim, string doc)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim is { } value
                ? new TensorShapeProto.Types.Dimension { DimValue = value }
                : new TensorShapeProto.Types.Dimension { DimParam = symbolicDim });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private string Unique(string name)
    {
        if (_names.Add(name)) return name;
        for (var i = 1; ; i++)
        {
            var candidate = $"{name}_{i}";
            if (_names.Add(candidate)) return candidate;
        }
    }
}
