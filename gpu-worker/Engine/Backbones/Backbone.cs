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
    string? Error = null,
    IReadOnlyList<int>? StageWidths = null,
    string WeightsLicence = "");

/// <summary>
/// A convolutional feature extractor: images [N,3,H,W] (normalised) → pooled features [N, FeatureDim].
/// <see cref="Stages"/> lists its parts in forward order so the last N can be unfrozen.
/// </summary>
public abstract class Backbone(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract BackboneDescriptor Descriptor { get; }

    /// <summary>The backbone's parts in forward order (stem first).</summary>
    public abstract IReadOnlyList<nn.Module> Stages { get; }

    /// <summary>
    /// Multi-stage pooled features: each of the last <paramref name="lastStages"/> stages' output, globally
    /// average-pooled, concatenated earlier stage first: [N, <see cref="PooledDim"/>]. 1 equals <c>forward</c>
    /// (the last stage's pooled features). Pooling an intermediate stage as well keeps mid-level features the last
    /// stage has abstracted away (measured for the autopilot on Tux Paint: +1.2 points cross-validated accuracy for
    /// the last two stages of the ResNet, docs/benchmarks.md; cf. Yosinski et al. 2014, "How transferable are
    /// features in deep neural networks?").
    /// </summary>
    /// <param name="images">Normalised images [N,3,H,W].</param>
    /// <param name="lastStages">1 to <see cref="Stages"/>.Count − 1 (the stem is never pooled).</param>
    /// <param name="lastStageActivations">Null for plain inference. Otherwise called once with the last stage's output
    /// [N, C, h, w] (the last convolutional activations); what it returns is pooled in its place, so a caller can
    /// substitute a leaf that records gradients (Grad-CAM). It runs inside this method's dispose scope: a tensor it
    /// keeps must be detached from that scope by the caller.</param>
    public Tensor PooledStages(Tensor images, int lastStages, Func<Tensor, Tensor>? lastStageActivations = null)
    {
        CheckPooledStages(lastStages);
        if (lastStages == 1 && lastStageActivations is null) return forward(images);
        using var scope = torch.NewDisposeScope();
        var stages = Stages;
        var pooled = new List<Tensor>(lastStages);
        var x = images;
        for (var i = 0; i < stages.Count; i++)
        {
            x = ((nn.Module<Tensor, Tensor>)stages[i]).call(x);
            if (i == stages.Count - 1 && lastStageActivations is not null) x = lastStageActivations(x);
            if (i >= stages.Count - lastStages) pooled.Add(x.mean([2, 3]));
        }
        return (pooled.Count == 1 ? pooled[0] : torch.cat(pooled, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>The width of <see cref="PooledStages"/>: the sum of the last <paramref name="lastStages"/> stages'
    /// output channels (<see cref="BackboneDescriptor.StageWidths"/>, measured once per architecture).</summary>
    public int PooledDim(int lastStages) => PooledWidths(lastStages).Sum();

    /// <summary>The widths of the last <paramref name="lastStages"/> stages' pooled features, earlier stage first (the
    /// layout of a <see cref="PooledStages"/> row).</summary>
    public IReadOnlyList<int> PooledWidths(int lastStages)
    {
        CheckPooledStages(lastStages);
        if (lastStages == 1) return [Descriptor.FeatureDim];
        var widths = Descriptor.StageWidths
            ?? throw new NotSupportedException($"{Descriptor.Name}: the widths of its stages are not known, so only its last stage can be pooled.");
        return [.. widths.Skip(widths.Count - lastStages)];
    }

    private void CheckPooledStages(int lastStages)
    {
        if (lastStages < 1 || lastStages >= Stages.Count)
            throw new ArgumentOutOfRangeException(nameof(lastStages), lastStages, $"{Descriptor.Name} has {Stages.Count} stages: pool 1 to {Stages.Count - 1} of them.");
    }

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
