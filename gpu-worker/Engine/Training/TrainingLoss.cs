using TorchSharp;
using TransferHub.Contracts.Jobs;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

/// <summary>
/// The training loss of the manual modes: cross-entropy, class-weighted as <see cref="TrainingSpec.ClassWeighting"/>
/// says with weights from the training split's class counts (<see cref="ClassWeights"/>). With weights it is PyTorch's
/// weighted mean, Σᵢ w_{yᵢ}·CEᵢ / Σᵢ w_{yᵢ}. Validation and evaluation stay unweighted. Owns its weight tensor (made
/// once per run, outside any batch's dispose scope).
/// </summary>
public sealed class TrainingLoss : IDisposable
{
    private readonly Tensor? _weight;

    public TrainingLoss(TrainingSpec spec, IReadOnlyList<DatasetEntry> train, Device device)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(train);
        var counts = new int[spec.ClassNames.Count];
        foreach (var item in train) counts[item.ClassIndex]++;
        Weights = ClassWeights.For(spec.ClassWeighting, counts, spec.ClassWeightBeta);
        if (Weights is not null)
            _weight = torch.tensor(Weights.Select(w => (float)w).ToArray(), dtype: ScalarType.Float32, device: device);
    }

    /// <summary>The class weights in class order; null when the loss is unweighted.</summary>
    public IReadOnlyList<double>? Weights { get; }

    /// <summary>The batch's mean (class-weighted) cross-entropy of <paramref name="logits"/> [N, K] against <paramref name="labels"/> [N].</summary>
    public Tensor Compute(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels, weight: _weight);

    public void Dispose() => _weight?.Dispose();
}
