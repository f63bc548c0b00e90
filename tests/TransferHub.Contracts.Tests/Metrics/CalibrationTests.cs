using TransferHub.Contracts.Metrics;

namespace TransferHub.Contracts.Tests.Metrics;

/// <summary>Temperature scaling, expected calibration error and the rejection threshold on synthetic logits whose right
/// answers are known.</summary>
public sealed class CalibrationTests
{
    /// <summary>n images of k classes whose labels are drawn from softmax(z): z is calibrated by construction.</summary>
    private static (List<float[]> Logits, List<int> Labels) Calibrated(int n, int k, int seed, double spread = 2.5)
    {
        var random = new Random(seed);
        var logits = new List<float[]>(n);
        var labels = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            var z = new float[k];
            for (var c = 0; c < k; c++) z[c] = (float)(spread * Normal(random));
            var p = TemperatureScaling.Softmax(z, 1);
            var u = random.NextDouble();
            var label = k - 1;
            double cumulative = 0;
            for (var c = 0; c < k; c++)
            {
                cumulative += p[c];
                if (u < cumulative) { label = c; break; }
            }
            logits.Add(z);
            labels.Add(label);
        }
        return (logits, labels);
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static List<float[]> Scaled(IEnumerable<float[]> logits, float factor) => [.. logits.Select(z => z.Select(v => v * factor).ToArray())];

    [Theory]
    [InlineData(3.0)]   // overconfident: logits 3× too large → T ≈ 3
    [InlineData(0.5)]   // underconfident: logits halved → T ≈ 0.5
    public void TemperatureScalingRecoversTheFactorByWhichCalibratedLogitsWereScaled(double factor)
    {
        var (logits, labels) = Calibrated(6000, 5, seed: 1);

        var fit = TemperatureScaling.Fit(Scaled(logits, (float)factor), labels);

        Assert.InRange(fit.Temperature, factor * 0.92, factor * 1.08);
        Assert.True(fit.NllAfter < fit.NllBefore, $"NLL {fit.NllAfter} after ≥ {fit.NllBefore} before");
        Assert.Null(fit.Note);
        Assert.Equal(6000, fit.Images);
        // The fitted T is the minimum: a little either side is worse.
        var scaled = Scaled(logits, (float)factor);
        Assert.True(TemperatureScaling.Nll(scaled, labels, fit.Temperature * 1.05) > fit.NllAfter);
        Assert.True(TemperatureScaling.Nll(scaled, labels, fit.Temperature / 1.05) > fit.NllAfter);
    }

    [Fact]
    public void TemperatureScalingLowersTheExpectedCalibrationErrorOfAnOverconfidentModel()
    {
        var (logits, labels) = Calibrated(4000, 4, seed: 2);
        var overconfident = Scaled(logits, 3);
        var fit = TemperatureScaling.Fit(overconfident, labels);

        var before = Reliability.OfProbabilities([.. overconfident.Select(z => TemperatureScaling.Softmax(z, 1))], labels);
        var after = Reliability.OfProbabilities([.. overconfident.Select(z => TemperatureScaling.Softmax(z, fit.Temperature))], labels);

        Assert.True(before.Ece > 0.1, $"ECE before {before.Ece}: the synthetic model is not overconfident");
        Assert.True(after.Ece < 0.03, $"ECE after {after.Ece}");
    }

    [Fact]
    public void WithTooFewOrOnlyRightHeldOutImagesTheTemperatureStaysOneAndSaysWhy()
    {
        var none = TemperatureScaling.Fit([], []);
        Assert.Equal(1, none.Temperature);
        Assert.Contains("No held-out images", none.Note);

        var few = TemperatureScaling.Fit([[1f, 0f], [0f, 2f]], [0, 0]);
        Assert.Equal(1, few.Temperature);
        Assert.Contains("Only 2 held-out images", few.Note);

        var allRight = TemperatureScaling.Fit([.. Enumerable.Range(0, 12).Select(i => new[] { i % 2 == 0 ? 3f : 0f, i % 2 == 0 ? 0f : 3f })],
            [.. Enumerable.Range(0, 12).Select(i => i % 2)]);
        Assert.Equal(1, allRight.Temperature);
        Assert.Contains("All 12 held-out images are classified right", allRight.Note);
    }

    [Fact]
    public void ATemperatureThatFitsAFewImagesNoBetterThanChanceIsNotUsed()
    {
        // 40 images from a calibrated model, logits 1.2× too large: a small miscalibration that 40 images cannot tell
        // from noise (on 6000 the same factor is found, see above).
        var (logits, labels) = Calibrated(40, 4, seed: 5);
        var fit = TemperatureScaling.Fit(Scaled(logits, 1.2f), labels);

        Assert.Equal(1, fit.Temperature);
        Assert.Equal(fit.NllBefore, fit.NllAfter);
        Assert.Contains("likelihood-ratio test", fit.Note);
        Assert.Contains("temperature 1 kept", fit.Note);

        var (many, manyLabels) = Calibrated(6000, 4, seed: 5);
        Assert.InRange(TemperatureScaling.Fit(Scaled(many, 1.2f), manyLabels).Temperature, 1.1, 1.3);
    }

    [Fact]
    public void ATemperatureBeyondTheRangeIsClampedToItsBoundAndSaysSo()
    {
        // Labels independent of huge logits: the best T is far above 20.
        var random = new Random(3);
        var logits = Enumerable.Range(0, 200).Select(_ => new[] { (float)(500 * Normal(random)), (float)(500 * Normal(random)) }).ToList();
        var labels = Enumerable.Range(0, 200).Select(_ => random.Next(2)).ToList();

        var fit = TemperatureScaling.Fit(logits, labels);

        Assert.Equal(TemperatureScaling.MaxTemperature, fit.Temperature);
        Assert.Contains("clamped to 20", fit.Note);
    }

    [Fact]
    public void BadLogitsAreRefusedWithTheRowNamed()
    {
        var rows = Enumerable.Range(0, 12).Select(_ => new[] { 1f, 0f }).ToList();
        rows[7] = [float.NaN, 0f];
        var error = Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit(rows, [.. Enumerable.Repeat(0, 12)]));
        Assert.Contains("row 7", error.Message);
        var wrongClass = Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit([.. Enumerable.Repeat(new[] { 1f, 0f }, 12)], [.. Enumerable.Repeat(2, 12)]));
        Assert.Contains("True class 2", wrongClass.Message);
    }

    [Fact]
    public void TheExpectedCalibrationErrorOfAHandComputedSetIsTheWeightedGapOfItsBins()
    {
        // 15 bins: 0.95 → bin 14 (2 predictions, 1 right: |0.5 − 0.95| = 0.45), 0.6 → bin 8 (2, both right: 0.4),
        // 0.3 → bin 4 (1, wrong: 0.3). ECE = 2/5·0.45 + 2/5·0.4 + 1/5·0.3 = 0.40.
        var r = Reliability.Of([0.95, 0.95, 0.6, 0.6, 0.3], [true, false, true, true, false]);

        Assert.Equal(0.40, r.Ece, 12);
        Assert.Equal(15, r.Bins.Count);
        Assert.Equal(5, r.Count);
        Assert.Equal(new ReliabilityBin(14 / 15.0, 1, 2, 0.95, 0.5), r.Bins[14]);
        Assert.Equal(2, r.Bins[8].Count);
        Assert.Equal(1.0, r.Bins[8].Accuracy);
        Assert.Equal(1, r.Bins[4].Count);
        Assert.Equal(5, r.Bins.Sum(b => b.Count));
        Assert.All(r.Bins.Where((_, m) => m is not (4 or 8 or 14)), b => Assert.Equal(0, b.Count));
    }

    [Fact]
    public void APerfectlyCalibratedSetHasAnExpectedCalibrationErrorNearZero()
    {
        // Exactly: in each bin the share right equals the confidence.
        var exact = Reliability.Of([.. Enumerable.Repeat(0.8, 10), .. Enumerable.Repeat(0.5, 4)],
            [.. Enumerable.Range(0, 10).Select(i => i < 8), .. Enumerable.Range(0, 4).Select(i => i < 2)]);
        Assert.Equal(0, exact.Ece, 12);

        // Statistically: labels drawn from the model's own probabilities.
        var (logits, labels) = Calibrated(20000, 3, seed: 4);
        var sampled = Reliability.OfProbabilities([.. logits.Select(z => TemperatureScaling.Softmax(z, 1))], labels);
        Assert.True(sampled.Ece < 0.015, $"ECE {sampled.Ece} of a calibrated synthetic model");
    }

    [Fact]
    public void ConfidenceOneAndZeroFallIntoTheLastAndFirstBins()
    {
        Assert.Equal(14, Reliability.Bin(1.0, 15));
        Assert.Equal(0, Reliability.Bin(0.0, 15));
        Assert.Equal(0, Reliability.Bin(1 / 15.0, 15));
        Assert.Equal(1, Reliability.Bin(1 / 15.0 + 1e-9, 15));
        Assert.Throws<ArgumentException>(() => Reliability.Of([1.5], [true]));
    }

    private static List<HeldOutConfidence> HeldOut(params (double Confidence, bool Correct)[] rows) =>
        [.. rows.Select(r => new HeldOutConfidence(r.Confidence, r.Correct))];

    [Fact]
    public void TheThresholdIsTheLowestConfidenceWhoseAnsweredPredictionsReachTheTargetPrecision()
    {
        // 20 held-out predictions, most confident first: 10 right (0.99..0.90), a wrong one at 0.89, 4 right (0.88..0.85),
        // then 0.6 right and 0.5..0.2 wrong. Precision answering down to 0.90: 10/10; 0.89: 10/11; 0.85: 14/15 = 93.3 %;
        // 0.6: 15/16 = 93.75 %; 0.5: 15/17 = 88.2 %. Target 93 %: the lowest threshold reaching it is 0.6 (16 answered, 80 %).
        var rows = new List<(double, bool)>();
        for (var i = 0; i < 10; i++) rows.Add((0.99 - i * 0.01, true));
        rows.Add((0.89, false));
        for (var i = 0; i < 4; i++) rows.Add((0.88 - i * 0.01, true));
        rows.AddRange([(0.6, true), (0.5, false), (0.4, false), (0.3, false), (0.2, false)]);

        var choice = RejectionThreshold.Choose(HeldOut([.. rows]), 0.93);

        Assert.Equal(0.6, choice.Threshold);
        Assert.Equal(16, choice.Answered);
        Assert.Equal(0.8, choice.Coverage, 12);
        Assert.Equal(15 / 16.0, choice.Precision, 12);
        Assert.Contains("80.0 % coverage", choice.Message);

        // 95 %: only the 10 most confident qualify (10/10), threshold 0.90, coverage 50 %.
        var strict = RejectionThreshold.Choose(HeldOut([.. rows]), 0.95);
        Assert.Equal(0.90, strict.Threshold!.Value, 12);
        Assert.Equal(0.5, strict.Coverage, 12);
    }

    [Fact]
    public void WhenEveryPredictionReachesTheTargetTheThresholdIsZeroAndNothingIsUnknown()
    {
        var choice = RejectionThreshold.Choose(HeldOut([.. Enumerable.Range(0, 25).Select(i => (0.5 + i * 0.01, i != 3))]), 0.9);
        Assert.Equal(0, choice.Threshold);
        Assert.Equal(1, choice.Coverage);
    }

    [Fact]
    public void TooFewHeldOutPredictionsOrAnUnreachableTargetGiveNoThresholdAndSayWhy()
    {
        var few = RejectionThreshold.Choose(HeldOut([.. Enumerable.Range(0, 19).Select(i => (0.9, true))]), 0.95);
        Assert.Null(few.Threshold);
        Assert.Contains("Only 19 held-out", few.Message);
        Assert.Contains("at least 20", few.Message);

        var hopeless = RejectionThreshold.Choose(HeldOut([.. Enumerable.Range(0, 30).Select(i => (0.3 + i * 0.02, i % 2 == 0))]), 0.95);
        Assert.Null(hopeless.Threshold);
        Assert.Contains("No threshold reaches 95.0 %", hopeless.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => RejectionThreshold.Choose([], 1.2));
        Assert.NotNull(RejectionThreshold.CheckTarget(0.3));
        Assert.Null(RejectionThreshold.CheckTarget(0.95));
    }
}
