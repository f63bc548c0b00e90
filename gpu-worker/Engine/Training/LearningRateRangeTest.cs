using System.Globalization;

namespace TransferHub.Worker.Engine.Training;

/// <summary>One step of a learning-rate range test: the rate it trained at, its batch loss (nats) and the smoothed loss.</summary>
public sealed record LrPoint(double LearningRate, double Loss, double SmoothedLoss);

/// <summary>What a range test suggests: <see cref="Suggested"/> is the rate at the smoothed loss's minimum divided by 10
/// (fastai's <c>lr_min</c>); <see cref="Steepest"/> is where the smoothed loss fell fastest per decade (fastai's
/// <c>lr_steep</c>); <see cref="Explanation"/> says so in a sentence.</summary>
public sealed record LrSuggestion(double Suggested, double Minimum, double Steepest, string Explanation);

/// <summary>
/// The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", §3.3; as fastai's
/// <c>lr_find</c>): train from the start, raising the rate exponentially from <see cref="Start"/> to <see cref="End"/>
/// over <see cref="Steps"/> mini-batches, record each batch's loss, smooth it with a debiased exponential moving average
/// (β = <see cref="Smoothing"/>), and stop once the smoothed loss exceeds <see cref="DivergeFactor"/> × its minimum or
/// a loss is not finite. This class is the schedule, the bookkeeping and the suggestion; the trainer drives it.
/// </summary>
public sealed class LearningRateRangeTest
{
    private readonly List<LrPoint> _points = [];
    private double _average;
    private double _best = double.PositiveInfinity;

    /// <exception cref="ArgumentOutOfRangeException">not 0 &lt; start &lt; end, fewer than 5 steps, β outside [0, 1)</exception>
    public LearningRateRangeTest(double start = 1e-7, double end = 10, int steps = 100, double smoothing = 0.98, double divergeFactor = 4)
    {
        if (!(start > 0 && end > start)) throw new ArgumentOutOfRangeException(nameof(start), "The range must satisfy 0 < start < end.");
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 5);
        if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentOutOfRangeException(nameof(smoothing), "β must be in [0, 1).");
        Start = start;
        End = end;
        Steps = steps;
        Smoothing = smoothing;
        DivergeFactor = divergeFactor;
    }

    public double Start { get; }
    public double End { get; }
    public int Steps { get; }
    public double Smoothing { get; }
    public double DivergeFactor { get; }
    public IReadOnlyList<LrPoint> Points => _points;

    /// <summary>The rate of step <paramref name="step"/> (0-based): Start · (End/Start)^(step/(Steps−1)).</summary>
    public double LearningRate(int step) => Start * Math.Pow(End / Start, step / (double)(Steps - 1));

    /// <summary>Records the loss of the next step; false when the test is over (all steps done, a non-finite loss,
    /// or the smoothed loss beyond <see cref="DivergeFactor"/> × its minimum).</summary>
    public bool Record(double loss)
    {
        var step = _points.Count;
        if (step >= Steps) return false;
        if (!double.IsFinite(loss)) return false;
        _average = Smoothing * _average + (1 - Smoothing) * loss;
        var smoothed = _average / (1 - Math.Pow(Smoothing, step + 1));
        _points.Add(new LrPoint(LearningRate(step), loss, smoothed));
        _best = Math.Min(_best, smoothed);
        return step + 1 < Steps && !(step > 0 && smoothed > DivergeFactor * _best);
    }

    /// <exception cref="InvalidOperationException">fewer than 3 steps recorded</exception>
    public LrSuggestion Suggest()
    {
        if (_points.Count < 3) throw new InvalidOperationException("The range test needs at least 3 recorded steps to suggest a rate.");
        var n = _points.Count;
        var minimum = _points.MinBy(p => p.SmoothedLoss)!;
        var minimumIndex = _points.IndexOf(minimum);
        // Steepest descent over a window of ±n/20 points from the first fifth on: neighbouring points' slopes are
        // dominated by batch noise where the rate is still too small to change anything.
        var w = Math.Max(1, n / 20);
        var steepest = minimum;
        var steepestSlope = 0.0;
        for (var i = Math.Max(w, n / 5); i + w < n && i <= minimumIndex; i++)
        {
            var slope = (_points[i + w].SmoothedLoss - _points[i - w].SmoothedLoss) /
                        (Math.Log10(_points[i + w].LearningRate) - Math.Log10(_points[i - w].LearningRate));
            if (slope < steepestSlope) (steepestSlope, steepest) = (slope, _points[i]);
        }
        var valley = _points[Valley()];
        var suggested = Math.Min(valley.LearningRate, minimum.LearningRate / 10);
        var c = CultureInfo.InvariantCulture;
        var explanation =
            $"The smoothed loss was lowest ({minimum.SmoothedLoss.ToString("0.###", c)}) at learning rate {Rate(minimum.LearningRate)}. Suggested: {Rate(suggested)}, " +
            $"the smaller of a tenth of that and the middle of the longest stretch where the loss keeps falling ({Rate(valley.LearningRate)}); " +
            $"it fell fastest around {Rate(steepest.LearningRate)}. The test measures the training loss: a rate near the suggestion trains fast, " +
            "while the launch form's default is the measured safe choice.";
        if (minimumIndex == n - 1 && n == Steps)
            explanation += $" The loss was still falling at the end of the range ({Rate(End)}).";
        if (minimum.SmoothedLoss >= _points[0].SmoothedLoss * 0.98)
            explanation += " The loss hardly moved over the whole range: check the data and labels before trusting any rate.";
        return new LrSuggestion(suggested, minimum.LearningRate, steepest.LearningRate, explanation);
    }

    /// <summary>fastai's "valley" (its default suggestion since 2.4): the longest run of points whose smoothed losses keep
    /// falling (a longest decreasing subsequence), and within it the point halfway through its middle third.</summary>
    private int Valley()
    {
        var n = _points.Count;
        var lengths = Enumerable.Repeat(1, n).ToArray();
        int start = 0, end = 0;
        for (var i = 1; i < n; i++)
        {
            for (var j = 0; j < i; j++)
                if (_points[i].SmoothedLoss < _points[j].SmoothedLoss && lengths[i] < lengths[j] + 1)
                    lengths[i] = lengths[j] + 1;
            if (lengths[end] < lengths[i])
            {
                end = i;
                start = end - lengths[end];
            }
        }
        var sections = (end - start) / 3.0;
        return Math.Clamp(start + (int)sections + (int)(sections / 2), 0, n - 1);
    }

    private static string Rate(double rate) => rate.ToString(rate >= 0.001 ? "0.####" : "0.0e0", CultureInfo.InvariantCulture);
}
