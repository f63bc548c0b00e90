using System.Collections.Concurrent;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Export;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Inference;

/// <summary>
/// Pooled features of a frozen, pretrained backbone for batches of normalised images — the one place feature extraction
/// and the autopilot compute them. On the CPU it runs the backbone through ONNX Runtime (<see cref="OrtFeatureExtractor"/>,
/// 1.7× TorchSharp's images/s on 2 cores, features within 1e-4: docs/benchmarks.md, "Frozen-backbone inference"); on
/// CUDA, or for a backbone ORT cannot take, through TorchSharp. Sessions are built once per (backbone name, weights
/// SHA-256, stages, size) and shared by every job of the process (ORT sessions are thread-safe).
/// </summary>
public static class FrozenFeatures
{
    private static readonly ConcurrentDictionary<(string Name, string Weights, int Stages, int Size), Lazy<OrtFeatureExtractor?>> Sessions = new();

    /// <summary>Features [count × PooledDim(stages)] of <paramref name="pixels"/> ([count,3,size,size], normalised).</summary>
    /// <param name="backbone">Frozen, in eval mode, on <paramref name="device"/>.</param>
    /// <param name="flip">Mirror the images along the width first (the autopilot's second view).</param>
    public static float[] Compute(Backbone backbone, int stages, float[] pixels, int count, int size, Device device, bool flip = false,
        Action<string>? log = null)
    {
        if (Extractor(backbone, stages, size, device, log) is { } ort)
            return ort.Run(flip ? Mirror(pixels, count, size) : pixels, count);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = torch.tensor(pixels, [count, 3, size, size]).to(device);
        return backbone.PooledStages(flip ? input.flip(3) : input, stages).cpu().data<float>().ToArray();
    }

    private static OrtFeatureExtractor? Extractor(Backbone backbone, int stages, int size, Device device, Action<string>? log)
    {
        if (device.type != DeviceType.CPU || backbone.WeightsSha256 is not { } weights) return null;
        var key = (backbone.Descriptor.Name, weights, stages, size);
        return Sessions.GetOrAdd(key, _ => new Lazy<OrtFeatureExtractor?>(() =>
        {
            try
            {
                return OrtFeatureExtractor.Create(backbone, stages, size, torch.get_num_threads());
            }
            catch (OnnxExportException e)
            {
                log?.Invoke($"ONNX Runtime cannot run {backbone.Descriptor.Name} ({e.Message}); computing features with TorchSharp.");
                return null;
            }
        })).Value;
    }

    /// <summary>The images mirrored along the width (the last axis of [count,3,size,size]).</summary>
    internal static float[] Mirror(float[] pixels, int count, int size)
    {
        var mirrored = new float[pixels.Length];
        for (var row = 0; row < count * 3 * size; row++)
        {
            var start = row * size;
            for (var x = 0; x < size; x++) mirrored[start + x] = pixels[start + size - 1 - x];
        }
        return mirrored;
    }
}
