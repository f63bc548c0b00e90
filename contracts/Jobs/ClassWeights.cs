namespace TransferHub.Contracts.Jobs;

/// <summary>
/// Per-class weights of the training loss, from the number of training images of each class. The loss they go into is
/// PyTorch's weighted cross-entropy: Σᵢ w_{yᵢ}·CE(xᵢ, yᵢ) / Σᵢ w_{yᵢ} over a batch, so it stays a mean of per-image
/// cross-entropies (comparable to the unweighted validation loss) in which a rare class's images count more.
/// A class without training images gets weight 0 (it never occurs in the loss); K counts the classes that have some.
/// </summary>
public static class ClassWeights
{
    /// <summary>Classes count as imbalanced when the largest has at least this many times the training images of the
    /// smallest: the autopilot then adds class-balanced candidates and ranks by macro F1, and the web's training doctor
    /// reports the imbalance. 3:1 is where, on the small sets measured (ADR 018), an unweighted loss started to cost the
    /// small classes' recall.</summary>
    public const double ImbalanceRatio = 3;

    /// <summary>True when the largest count is at least <see cref="ImbalanceRatio"/> × the smallest (classes without
    /// images are left out; fewer than two classes are never imbalanced).</summary>
    public static bool IsImbalanced(IEnumerable<int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var present = counts.Where(c => c > 0).ToList();
        return present.Count > 1 && present.Max() >= ImbalanceRatio * present.Min();
    }

    /// <summary>The weights of <paramref name="kind"/> for classes with <paramref name="counts"/> training images;
    /// null for <see cref="ClassWeightingKind.None"/>.</summary>
    /// <param name="beta">For <see cref="ClassWeightingKind.EffectiveNumber"/>: β in (0, 1).</param>
    public static double[]? For(ClassWeightingKind kind, IReadOnlyList<int> counts, double beta = JobDefaults.ClassWeightBeta) => kind switch
    {
        ClassWeightingKind.InverseFrequency => InverseFrequency(counts),
        ClassWeightingKind.EffectiveNumber => EffectiveNumber(counts, beta),
        _ => null,
    };

    /// <summary>scikit-learn's <c>class_weight="balanced"</c>: w_c = n / (K · n_c), with n the training images and K the
    /// classes that have any; a class of average size gets 1.</summary>
    public static double[] InverseFrequency(IReadOnlyList<int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        long total = counts.Sum(c => (long)Math.Max(c, 0));
        var present = counts.Count(c => c > 0);
        return [.. counts.Select(c => c > 0 ? total / ((double)present * c) : 0)];
    }

    /// <summary>Cui et al. (2019), "Class-Balanced Loss Based on Effective Number of Samples": w_c ∝ (1 − β) / (1 − β^n_c),
    /// normalised so that the weights average 1 over the K classes that have training images. β → 0 gives equal
    /// weights; β → 1 approaches inverse frequency.</summary>
    public static double[] EffectiveNumber(IReadOnlyList<int> counts, double beta)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (!(beta > 0 && beta < 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must be above 0 and below 1.");
        var raw = counts.Select(c => c > 0 ? (1 - beta) / (1 - Math.Pow(beta, c)) : 0).ToArray();
        var present = raw.Count(w => w > 0);
        var scale = present / raw.Sum();
        return [.. raw.Select(w => w * scale)];
    }
}
