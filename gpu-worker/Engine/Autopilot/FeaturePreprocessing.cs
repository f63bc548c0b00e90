using TorchSharp;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>
/// What an autopilot classifier does to a frozen backbone's pooled feature vector before its linear layer, in this
/// order: subtract <see cref="Centre"/> (when set), divide by the L2 norm (when <see cref="L2Normalise"/>), then
/// standardise with <see cref="Mean"/> and <see cref="Std"/> (when set). Every statistic is estimated on the
/// training rows only (a fold's training part during cross-validation, train + val for the final model) and stored in
/// <c>model.json</c>, so evaluation and Predict apply exactly what training saw.
/// </summary>
public sealed record FeaturePreprocessing
{
    public float[]? Centre { get; init; }
    public bool L2Normalise { get; init; }
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }

    public static readonly FeaturePreprocessing None = new();

    private const double Epsilon = 1e-12;

    /// <summary>Per-feature mean and standard deviation of <paramref name="rows"/> (a zero deviation becomes 1).</summary>
    public static FeaturePreprocessing Standardise(IReadOnlyList<float[]> rows)
    {
        var (mean, std) = Moments(rows);
        return new FeaturePreprocessing { Mean = mean, Std = std };
    }

    /// <summary>Centre on the rows' mean, L2-normalise, then scale by √dim so that a typical coordinate is of order 1
    /// (the same grid of regularisation strengths then suits it). SimpleShot's "CL2N" (Wang et al. 2019) plus a scale.</summary>
    public static FeaturePreprocessing CentredL2(IReadOnlyList<float[]> rows, bool scaleBySqrtDim)
    {
        var dim = rows[0].Length;
        var (centre, _) = Moments(rows);
        return new FeaturePreprocessing
        {
            Centre = centre,
            L2Normalise = true,
            Mean = scaleBySqrtDim ? new float[dim] : null,
            Std = scaleBySqrtDim ? Enumerable.Repeat((float)(1 / Math.Sqrt(dim)), dim).ToArray() : null,
        };
    }

    public void Apply(ReadOnlySpan<float> input, Span<double> output)
    {
        for (var i = 0; i < input.Length; i++) output[i] = input[i] - (Centre?[i] ?? 0);
        if (L2Normalise)
        {
            double norm = 0;
            foreach (var v in output) norm += v * v;
            norm = Math.Max(Math.Sqrt(norm), Epsilon);
            for (var i = 0; i < output.Length; i++) output[i] /= norm;
        }
        if (Mean is not null && Std is not null)
            for (var i = 0; i < output.Length; i++) output[i] = (output[i] - Mean[i]) / Std[i];
    }

    public double[] Apply(ReadOnlySpan<float> input)
    {
        var output = new double[input.Length];
        Apply(input, output);
        return output;
    }

    /// <summary>The same on a [N, dim] tensor (any float dtype); the caller owns the dispose scope.</summary>
    public Tensor Apply(Tensor features)
    {
        var x = features;
        if (Centre is not null) x = x - torch.tensor(Centre).to(features.dtype).to(features.device);
        if (L2Normalise) x = x / x.norm(1, keepdim: true).clamp_min(Epsilon);
        if (Mean is not null && Std is not null)
            x = (x - torch.tensor(Mean).to(features.dtype).to(features.device)) / torch.tensor(Std).to(features.dtype).to(features.device);
        return ReferenceEquals(x, features) ? features.alias() : x;
    }

    private static (float[] Mean, float[] Std) Moments(IReadOnlyList<float[]> rows)
    {
        var dim = rows[0].Length;
        var mean = new double[dim];
        foreach (var row in rows)
            for (var i = 0; i < dim; i++) mean[i] += row[i];
        for (var i = 0; i < dim; i++) mean[i] /= rows.Count;
        var variance = new double[dim];
        foreach (var row in rows)
            for (var i = 0; i < dim; i++) variance[i] += (row[i] - mean[i]) * (row[i] - mean[i]);
        var std = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            var s = Math.Sqrt(variance[i] / rows.Count);
            std[i] = s > 1e-8 ? (float)s : 1f;
        }
        return (mean.Select(m => (float)m).ToArray(), std);
    }
}
