namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>
/// Stratified k-fold assignment: within each class the images are shuffled with a seeded generator and dealt to the
/// folds in turn (each class starting where the previous one stopped, so fold sizes differ by at most one), so every
/// fold holds each class in proportion (±1 image). k = min(<paramref name="maxFolds"/>, smallest class size), at least 2.
/// </summary>
public static class StratifiedFolds
{
    public static int FoldCount(IReadOnlyList<int> labels, int maxFolds = 5)
    {
        var smallest = labels.GroupBy(l => l).Min(g => g.Count());
        return Math.Clamp(smallest, 2, maxFolds);
    }

    /// <summary>The fold (0..k−1) of each image.</summary>
    public static int[] Assign(IReadOnlyList<int> labels, int folds, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        var fold = new int[labels.Count];
        var random = new Random(unchecked((int)(seed * 1_000_003 + 17)));
        var next = 0;
        foreach (var group in labels.Select((label, index) => (label, index)).GroupBy(p => p.label).OrderBy(g => g.Key))
        {
            var members = group.Select(p => p.index).ToArray();
            random.Shuffle(members);
            foreach (var index in members)
            {
                fold[index] = next;
                next = (next + 1) % folds;
            }
        }
        return fold;
    }
}

/// <summary>Two-sided 95 % Student-t interval for the mean of a few scores.</summary>
public static class TInterval
{
    // t_{0.975, df} for df = 1..30 (standard tables).
    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double Quantile975(int df) => df switch
    {
        < 1 => double.NaN,
        <= 30 => T975[df - 1],
        <= 40 => 2.021,
        <= 60 => 2.000,
        <= 120 => 1.980,
        _ => 1.960,
    };

    /// <summary>(mean, low, high); with one score the interval is that score. The ends are clipped to
    /// [<paramref name="min"/>, <paramref name="max"/>] (scores such as accuracy cannot leave [0, 1]; the t-interval
    /// does not know it).</summary>
    public static (double Mean, double Low, double High) Of(IReadOnlyList<double> scores, double min = double.NegativeInfinity,
        double max = double.PositiveInfinity)
    {
        var mean = scores.Average();
        if (scores.Count < 2) return (mean, mean, mean);
        var variance = scores.Sum(s => (s - mean) * (s - mean)) / (scores.Count - 1);
        var half = Quantile975(scores.Count - 1) * Math.Sqrt(variance / scores.Count);
        return (mean, Math.Max(min, mean - half), Math.Min(max, mean + half));
    }
}

/// <summary>
/// Whether one classifier beats another beyond cross-validation noise: the corrected resampled t-test (Nadeau &amp;
/// Bengio 2003, "Inference for the Generalization Error"; Bouckaert &amp; Frank 2004 for repeated k-fold) on the
/// fold-by-fold differences of two candidates scored on the same folds. Fold scores are not independent (their
/// training sets overlap), so the naive variance of the mean, σ²/n, is replaced by (1/n + n_test/n_train)·σ², which is
/// (1/n + 1/(k − 1))·σ² for k-fold.
/// </summary>
public static class PairedFolds
{
    /// <summary>The mean difference <paramref name="challenger"/> − <paramref name="reference"/> and its two-sided 95 %
    /// interval, corrected as above.</summary>
    /// <param name="challenger">scores per fold, in the same fold order as <paramref name="reference"/></param>
    /// <param name="folds">k of the k-fold (≥ 2)</param>
    /// <exception cref="ArgumentException">different lengths, or fewer than 2 folds each</exception>
    public static (double Mean, double Low, double High) Difference(IReadOnlyList<double> challenger, IReadOnlyList<double> reference, int folds)
    {
        if (challenger.Count != reference.Count || challenger.Count < 2)
            throw new ArgumentException($"Paired scores need the same folds, at least 2 ({challenger.Count} vs {reference.Count}).");
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        var d = challenger.Select((c, i) => c - reference[i]).ToList();
        var n = d.Count;
        var mean = d.Average();
        var variance = d.Sum(x => (x - mean) * (x - mean)) / (n - 1);
        var half = TInterval.Quantile975(n - 1) * Math.Sqrt((1.0 / n + 1.0 / (folds - 1)) * variance);
        return (mean, mean - half, mean + half);
    }
}
