using System.Globalization;

namespace TransferHub.Contracts.Metrics;

/// <summary>One bin of a reliability diagram: the predictions whose confidence (top-class probability) lies in
/// (<see cref="Lower"/>, <see cref="Upper"/>] (the first bin also takes confidence 0), how many there are, their mean
/// confidence and the share of them that is right. <see cref="MeanConfidence"/> and <see cref="Accuracy"/> are 0 in an
/// empty bin.</summary>
public sealed record ReliabilityBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>A reliability diagram and its expected calibration error (ECE, 0–1: 0 = confidence equals accuracy in every
/// bin). <see cref="Count"/>: the predictions it summarises.</summary>
public sealed record Reliability(double Ece, int Count, IReadOnlyList<ReliabilityBin> Bins)
{
    /// <summary>Bins used by <see cref="Of"/> unless told otherwise: 15 equal-width bins, as Guo et al. 2017 report ECE.</summary>
    public const int DefaultBins = 15;

    /// <summary>
    /// Expected calibration error and reliability diagram (Guo, Pleiss, Sun &amp; Weinberger 2017, "On Calibration of
    /// Modern Neural Networks", §2; Naeini et al. 2015): predictions are grouped by confidence into
    /// <paramref name="bins"/> equal-width bins B_m = ((m−1)/M, m/M]; ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)|.
    /// </summary>
    /// <param name="confidences">Each prediction's top-class probability, in [0, 1].</param>
    /// <param name="correct">Whether each prediction's top class is the true class, same order.</param>
    /// <param name="bins">Number of bins, ≥ 1.</param>
    /// <returns>With no predictions: ECE 0 and every bin empty.</returns>
    /// <exception cref="ArgumentException">lists of different lengths, bins &lt; 1, or a confidence outside [0, 1] or NaN</exception>
    public static Reliability Of(IReadOnlyList<double> confidences, IReadOnlyList<bool> correct, int bins = DefaultBins)
    {
        if (confidences.Count != correct.Count)
            throw new ArgumentException($"{confidences.Count} confidences but {correct.Count} correctness flags: one of each per prediction.", nameof(correct));
        if (bins < 1) throw new ArgumentException($"A reliability diagram needs at least 1 bin, not {bins}.", nameof(bins));
        var count = new int[bins];
        var confidenceSum = new double[bins];
        var correctSum = new int[bins];
        for (var i = 0; i < confidences.Count; i++)
        {
            var c = confidences[i];
            if (!(c >= 0 && c <= 1 + 1e-6))
                throw new ArgumentException($"Confidence {c.ToString(CultureInfo.InvariantCulture)} of prediction {i} is not a probability in [0, 1].", nameof(confidences));
            var bin = Bin(c, bins);
            count[bin]++;
            confidenceSum[bin] += Math.Min(c, 1);
            if (correct[i]) correctSum[bin]++;
        }
        var n = confidences.Count;
        double ece = 0;
        var result = new ReliabilityBin[bins];
        for (var m = 0; m < bins; m++)
        {
            var meanConfidence = count[m] == 0 ? 0 : confidenceSum[m] / count[m];
            var accuracy = count[m] == 0 ? 0 : (double)correctSum[m] / count[m];
            if (count[m] > 0) ece += (double)count[m] / n * Math.Abs(accuracy - meanConfidence);
            result[m] = new ReliabilityBin((double)m / bins, (double)(m + 1) / bins, count[m], meanConfidence, accuracy);
        }
        return new Reliability(ece, n, result);
    }

    /// <summary>The bin of a confidence: m such that c ∈ (m/M, (m+1)/M], with 0 in the first bin.</summary>
    public static int Bin(double confidence, int bins) => Math.Clamp((int)Math.Ceiling(confidence * bins) - 1, 0, bins - 1);

    /// <summary>Of the top-class probability of each probability row.</summary>
    public static Reliability OfProbabilities(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> trueClasses, int bins = DefaultBins)
    {
        if (probabilities.Count != trueClasses.Count)
            throw new ArgumentException($"{probabilities.Count} probability rows but {trueClasses.Count} true classes.", nameof(trueClasses));
        var confidences = new double[probabilities.Count];
        var correct = new bool[probabilities.Count];
        for (var i = 0; i < probabilities.Count; i++)
        {
            var top = ArgMax(probabilities[i]);
            confidences[i] = Math.Clamp(probabilities[i][top], 0, 1);
            correct[i] = top == trueClasses[i];
        }
        return Of(confidences, correct, bins);
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}

/// <summary>A fitted temperature: <see cref="Temperature"/> T &gt; 0 (probabilities = softmax(logits / T)); the mean
/// negative log-likelihood (nats per image) of the images it was fitted on at T = 1 and at T; how many images; and,
/// when T was not fitted or hit a bound, why (<see cref="Note"/>, a sentence; null otherwise).</summary>
public sealed record TemperatureFit(double Temperature, double NllBefore, double NllAfter, int Images, string? Note)
{
    public static TemperatureFit None(string note) => new(1, double.NaN, double.NaN, 0, note);
}

/// <summary>
/// Temperature scaling (Guo, Pleiss, Sun &amp; Weinberger 2017, "On Calibration of Modern Neural Networks", §4.2): one
/// scalar T &gt; 0 shared by all classes, chosen to minimise the negative log-likelihood of held-out logits divided by
/// T. It never changes the predicted class (argmax is invariant to a positive scale), only how confident the
/// probabilities are: T &gt; 1 softens an overconfident model, T &lt; 1 sharpens an underconfident one.
/// </summary>
/// <remarks>The NLL of softmax(z/T) is convex in β = 1/T, hence unimodal in log T: a golden-section search over
/// log T ∈ [log <see cref="MinTemperature"/>, log <see cref="MaxTemperature"/>] to |Δ log T| &lt; 1e-7 finds its minimum
/// (or the bound it lies beyond, then said in the note). Sums in double precision, with a log-sum-exp shift.</remarks>
public static class TemperatureScaling
{
    public const double MinTemperature = 0.05;
    public const double MaxTemperature = 20;

    /// <summary>Fewer held-out images than this: T = 1 (a single scalar still over-fits a handful of images).</summary>
    public const int MinImages = 10;

    /// <summary>The χ² distribution's 95 % quantile with 1 degree of freedom: the likelihood-ratio statistic 2·n·(NLL(1) −
    /// NLL(T)) a fitted T must reach to replace T = 1.</summary>
    public const double LikelihoodRatioCritical = 3.841;

    /// <summary>Fits T on held-out logits (rows of K raw class scores) and their true classes.</summary>
    /// <returns>T = 1 with a note when there are fewer than <see cref="MinImages"/> images, when every image's top
    /// class is right with a margin (the likelihood then keeps rising as T → 0: there is no finite maximum, and
    /// sharpening without a single error to calibrate against is not evidence), or when the fitted T does not beat T = 1
    /// by a likelihood-ratio test at p = 0.05 (<see cref="LikelihoodRatioCritical"/>; measured: on 44-image validation
    /// splits an unchecked T made the test NLL worse on average, docs/benchmarks.md).</returns>
    /// <exception cref="ArgumentException">lists of different lengths, rows of different widths, a class index out of
    /// range, or a non-finite logit</exception>
    public static TemperatureFit Fit(IReadOnlyList<float[]> logits, IReadOnlyList<int> trueClasses)
    {
        if (logits.Count != trueClasses.Count)
            throw new ArgumentException($"{logits.Count} logit rows but {trueClasses.Count} true classes: one of each per image.", nameof(trueClasses));
        if (logits.Count < MinImages)
            return TemperatureFit.None(logits.Count == 0
                ? "No held-out images: temperature 1 (probabilities as the model gives them)."
                : $"Only {logits.Count} held-out images (at least {MinImages} needed): temperature 1 (probabilities as the model gives them).");
        var k = logits[0].Length;
        var allRight = true;
        for (var i = 0; i < logits.Count; i++)
        {
            var row = logits[i];
            if (row.Length != k) throw new ArgumentException($"Logit row {i} has {row.Length} classes where row 0 has {k}.", nameof(logits));
            if ((uint)trueClasses[i] >= (uint)k) throw new ArgumentException($"True class {trueClasses[i]} of image {i} is not in 0..{k - 1}.", nameof(trueClasses));
            foreach (var z in row)
                if (!float.IsFinite(z)) throw new ArgumentException($"Logit row {i} holds a non-finite value.", nameof(logits));
            var y = trueClasses[i];
            for (var c = 0; c < k; c++)
                if (c != y && row[c] >= row[y]) allRight = false;
        }
        var before = Nll(logits, trueClasses, 1);
        if (allRight)
            return new TemperatureFit(1, before, before, logits.Count,
                $"All {logits.Count} held-out images are classified right, so the likelihood has no finite optimum: temperature 1 kept.");

        double a = Math.Log(MinTemperature), b = Math.Log(MaxTemperature);
        var ratio = (Math.Sqrt(5) - 1) / 2;
        double c1 = b - ratio * (b - a), c2 = a + ratio * (b - a);
        double f1 = Nll(logits, trueClasses, Math.Exp(c1)), f2 = Nll(logits, trueClasses, Math.Exp(c2));
        while (b - a > 1e-7)
        {
            if (f1 <= f2)
            {
                (b, c2, f2) = (c2, c1, f1);
                c1 = b - ratio * (b - a);
                f1 = Nll(logits, trueClasses, Math.Exp(c1));
            }
            else
            {
                (a, c1, f1) = (c1, c2, f2);
                c2 = a + ratio * (b - a);
                f2 = Nll(logits, trueClasses, Math.Exp(c2));
            }
        }
        var t = Math.Exp((a + b) / 2);
        string? note = null;
        if (t <= MinTemperature * 1.0001 || t >= MaxTemperature / 1.0001)
        {
            t = t < 1 ? MinTemperature : MaxTemperature;
            note = string.Create(CultureInfo.InvariantCulture,
                $"The best temperature lies at or beyond the range's bound: clamped to {t:G3} (range {MinTemperature}–{MaxTemperature}).");
        }
        var after = Nll(logits, trueClasses, t);
        // T = 1 is T's nested special case: keep it unless T fits the held-out images better than chance would
        // (likelihood-ratio test, 2·n·ΔNLL against χ²(1) at p = 0.05). On a few dozen images the fitted T is mostly noise.
        var statistic = 2 * logits.Count * (before - after);
        if (statistic < LikelihoodRatioCritical)
            return new TemperatureFit(1, before, before, logits.Count, string.Create(CultureInfo.InvariantCulture,
                $"The best temperature on these {logits.Count} held-out images, {t:0.###}, fits them no better than temperature 1 beyond chance (likelihood-ratio test: {statistic:0.##} < {LikelihoodRatioCritical}, p ≥ 0.05): temperature 1 kept."));
        return new TemperatureFit(t, before, after, logits.Count, note);
    }

    /// <summary>Mean negative log-likelihood (nats per image) of softmax(logits / T) at the true classes.</summary>
    public static double Nll(IReadOnlyList<float[]> logits, IReadOnlyList<int> trueClasses, double temperature)
    {
        if (logits.Count == 0) return double.NaN;
        double sum = 0;
        for (var i = 0; i < logits.Count; i++)
        {
            var row = logits[i];
            double max = double.NegativeInfinity;
            foreach (var z in row) max = Math.Max(max, z / temperature);
            double s = 0;
            foreach (var z in row) s += Math.Exp(z / temperature - max);
            sum += max + Math.Log(s) - row[trueClasses[i]] / temperature;
        }
        return sum / logits.Count;
    }

    /// <summary>softmax(logits / T) of one row, in double precision, as float.</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits, double temperature)
    {
        double max = double.NegativeInfinity;
        foreach (var z in logits) max = Math.Max(max, z / temperature);
        var e = new double[logits.Length];
        double s = 0;
        for (var c = 0; c < logits.Length; c++) s += e[c] = Math.Exp(logits[c] / temperature - max);
        var p = new float[logits.Length];
        for (var c = 0; c < logits.Length; c++) p[c] = (float)(e[c] / s);
        return p;
    }
}

/// <summary>A held-out prediction's (calibrated) top-class probability and whether that class is right.</summary>
public readonly record struct HeldOutConfidence(double Confidence, bool Correct);

/// <summary>The chosen rejection threshold, or why there is none. Predict answers "unknown" when the top-class probability
/// is below <see cref="Threshold"/>. <see cref="Coverage"/>: the share of the held-out predictions answered at it
/// (0–1); <see cref="Precision"/>: the share of those that are right; <see cref="Answered"/>: how many.</summary>
public sealed record RejectionChoice(double TargetPrecision, double? Threshold, double Coverage, double Precision, int Answered, int HeldOut,
    string Message)
{
    public bool HasThreshold => Threshold is not null;
}

/// <summary>
/// Chooses the confidence below which Predict answers "unknown" (selective classification, Geifman &amp; El-Yaniv 2017,
/// "Selective Classification for Deep Neural Networks": a threshold on the softmax response): the lowest threshold t such
/// that the held-out predictions with confidence ≥ t reach the target precision (share right among those answered),
/// i.e. the one answering the most images. Thresholds tried are the held-out confidences themselves; when every
/// prediction already reaches the target, t = 0 (never unknown).
/// </summary>
public static class RejectionThreshold
{
    /// <summary>Fewer held-out predictions than this: no threshold is chosen (the precision estimate would be noise).</summary>
    public const int MinHeldOut = 20;
    /// <summary>A threshold must leave at least this many predictions answered.</summary>
    public const int MinAnswered = 5;
    public const double DefaultTargetPrecision = 0.95;
    public const double MinTargetPrecision = 0.5;
    public const double MaxTargetPrecision = 0.999;

    /// <summary>A target precision the user may set, or why not.</summary>
    public static string? CheckTarget(double target) => target is >= MinTargetPrecision and <= MaxTargetPrecision
        ? null
        : string.Create(CultureInfo.InvariantCulture, $"The target precision must be between {MinTargetPrecision:P0} and {MaxTargetPrecision:P1}, not {target:P1}.");

    /// <exception cref="ArgumentOutOfRangeException">a target outside [<see cref="MinTargetPrecision"/>, <see cref="MaxTargetPrecision"/>]</exception>
    public static RejectionChoice Choose(IReadOnlyList<HeldOutConfidence> heldOut, double targetPrecision)
    {
        if (CheckTarget(targetPrecision) is { } problem) throw new ArgumentOutOfRangeException(nameof(targetPrecision), targetPrecision, problem);
        var c = CultureInfo.InvariantCulture;
        var n = heldOut.Count;
        if (n < MinHeldOut)
            return new RejectionChoice(targetPrecision, null, 1, n == 0 ? 0 : heldOut.Count(h => h.Correct) / (double)n, n, n, n == 0
                ? "No held-out (validation) predictions: no threshold can be chosen, so Predict always answers with the top class."
                : string.Create(c, $"Only {n} held-out (validation) predictions: at least {MinHeldOut} are needed to choose a threshold, so Predict always answers with the top class. Give the dataset a larger validation split."));
        var sorted = heldOut.OrderByDescending(h => h.Confidence).ToArray();
        var overall = sorted.Count(h => h.Correct) / (double)n;
        if (overall >= targetPrecision)
            return new RejectionChoice(targetPrecision, 0, 1, overall, n, n,
                string.Create(c, $"All {n} held-out predictions together are {overall:P1} right, which meets the {targetPrecision:P1} target: every prediction is answered (threshold 0)."));
        // Walk from the most confident down; a threshold sits at a distinct confidence value (ties are all in or all out).
        RejectionChoice? best = null;
        var right = 0;
        double bestPrecision = 0;
        var bestPrecisionAnswered = 0;
        for (var i = 0; i < n; i++)
        {
            if (sorted[i].Correct) right++;
            if (i + 1 < n && sorted[i + 1].Confidence == sorted[i].Confidence) continue;
            var answered = i + 1;
            var precision = right / (double)answered;
            if (answered >= MinAnswered && precision > bestPrecision) (bestPrecision, bestPrecisionAnswered) = (precision, answered);
            if (answered >= MinAnswered && precision >= targetPrecision)
                best = new RejectionChoice(targetPrecision, sorted[i].Confidence, answered / (double)n, precision, answered, n, "");
        }
        if (best is null)
            return new RejectionChoice(targetPrecision, null, 1, overall, n, n, string.Create(c,
                $"No threshold reaches {targetPrecision:P1} precision on the {n} held-out predictions (the best, answering at least {MinAnswered}, is {bestPrecision:P1} over the {bestPrecisionAnswered} most confident): Predict always answers with the top class. Lower the target or improve the model."));
        return best with
        {
            Message = string.Create(c,
                $"Below {best.Threshold:P1} confidence Predict answers \"unknown\": on the {n} held-out predictions that answers {best.Answered} ({best.Coverage:P1} coverage) with {best.Precision:P1} precision (target {targetPrecision:P1})."),
        };
    }
}
