using TorchSharp;
using TransferHub.Worker.Engine.Transforms;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>What a backbone is and where its weights come from.</summary>
public sealed record BackboneDescriptor(
    string Name,
    string DisplayName,
    int InputSize,
    long Parameters,
    string WeightsSource,
    bool Pretrained,
    int FeatureDim,
    int Stages,
    Normalization Normalization,
    string? Error = null);

/// <summary>
/// A convolutional feature extractor: images [N,3,H,W] (normalised) → pooled features [N, FeatureDim].
/// <see cref="Stages"/> lists its parts in forward order so the last N can be unfrozen.
/// </summary>
public abstract class Backbone(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract BackboneDescriptor Descriptor { get; }

    /// <summary>The backbone's parts in forward order (stem first).</summary>
    public abstract IReadOnlyList<nn.Module> Stages { get; }

    /// <summary>SHA-256 (lower-case hex) of the weights file this instance was loaded from — the shipped ONNX file or
    /// the weights-folder file as it was when read; null for random initialisation. Anything derived from the
    /// weights (cached features, a trained head) is keyed by it, never by the backbone's name alone.</summary>
    public string? WeightsSha256 { get; internal set; }
}

/// <summary>Thrown when a job names a backbone this worker does not offer.</summary>
public sealed class UnknownBackboneException(string name, IEnumerable<string> available)
    : Exception($"Unknown backbone '{name}'. Available: {string.Join(", ", available)}.");

/// <summary>Thrown when a weights file does not fit its architecture; the message lists every mismatch.</summary>
public sealed class WeightFileException(string message) : Exception(message);
