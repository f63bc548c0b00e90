using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Export;

namespace TransferHub.Worker.Engine.Inference;

/// <summary>
/// A frozen backbone run by ONNX Runtime instead of TorchSharp: the same weights, exported by
/// <see cref="OnnxExporter.FeatureModel"/> and optimised by ORT (all graph optimisations: Conv + BatchNorm + ReLU
/// fusion, constant folding), for CPU inference where nothing trains. Input: normalised images, float32 [N,3,S,S] as
/// the transform pipeline renders them; output: <see cref="Backbone.PooledStages"/> [N, <see cref="Dim"/>], within
/// 1e-4 of TorchSharp's (a parity test checks it). Thread-safe: ORT sessions may run concurrently.
/// </summary>
public sealed class OrtFeatureExtractor : IDisposable
{
    private readonly InferenceSession _session;

    private OrtFeatureExtractor(InferenceSession session, int size, int dim)
    {
        _session = session;
        Size = size;
        Dim = dim;
    }

    /// <summary>Input width and height in pixels.</summary>
    public int Size { get; }

    /// <summary>Features per image.</summary>
    public int Dim { get; }

    /// <summary>Builds the session (about a second for a ResNet-18 on 2 cores).</summary>
    /// <param name="backbone">In eval mode, on the CPU; only read.</param>
    /// <param name="threads">ORT intra-op threads (the worker's torch thread count).</param>
    /// <exception cref="OnnxExportException">a backbone module with no ONNX translation</exception>
    public static OrtFeatureExtractor Create(Backbone backbone, int pooledStages, int size, int threads)
    {
        var bytes = OnnxExporter.FeatureModel(backbone, pooledStages, size).ToByteArray();
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Math.Max(1, threads),
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        return new OrtFeatureExtractor(new InferenceSession(bytes, options), size, backbone.PooledDim(pooledStages));
    }

    /// <summary>Features of <paramref name="count"/> normalised images laid out as [count,3,Size,Size].</summary>
    /// <returns>[count × <see cref="Dim"/>] row-major.</returns>
    public float[] Run(float[] pixels, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(pixels.Length, count * 3 * Size * Size, nameof(pixels));
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [count, 3, Size, Size]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [OnnxExporter.InputName], [input], [OnnxExporter.FeaturesName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose() => _session.Dispose();
}
