using System.Globalization;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Worker.Engine.Evaluation;

/// <summary>
/// A run's calibration: the temperature (<see cref="TemperatureScaling"/>, Guo et al. 2017) fitted on held-out logits,
/// where they came from (<see cref="FittedOn"/>: <see cref="Validation"/>, <see cref="OutOfFold"/>, or null when there
/// were none and T = 1), the reliability diagram and expected calibration error of the evaluated split before (T = 1)
/// and after (T), and each held-out image's calibrated top-class probability and correctness, from which the web
/// chooses the "unknown" threshold (<see cref="RejectionThreshold"/>). The test split never influences T.
/// </summary>
public sealed record CalibrationSummary(TemperatureFit Fit, string? FittedOn, Reliability Before, Reliability After,
    IReadOnlyList<HeldOutConfidence> HeldOut)
{
    public const string Validation = "validation";
    public const string OutOfFold = "out-of-fold";

    public double Temperature => Fit.Temperature;

    /// <summary>Fits T on <paramref name="heldOut"/> (validation, or auto mode's out-of-fold predictions) and measures the
    /// reliability of <paramref name="evaluated"/> (the test split) before and after.</summary>
    /// <param name="heldOut">Logits ([classes] each, the output of ClassifierModel.forward) and true classes of images the
    /// model's weights were not fitted on.</param>
    /// <param name="source">What <paramref name="heldOut"/> is: <see cref="Validation"/> or <see cref="OutOfFold"/>.</param>
    public static CalibrationSummary Calibrate(IReadOnlyList<(float[] Logits, int TrueClass)> heldOut, string source,
        IReadOnlyList<(float[] Logits, int TrueClass)> evaluated)
    {
        var fit = TemperatureScaling.Fit([.. heldOut.Select(h => h.Logits)], [.. heldOut.Select(h => h.TrueClass)]);
        var confidences = heldOut.Select(h =>
        {
            var p = TemperatureScaling.Softmax(h.Logits, fit.Temperature);
            var top = ClassificationReport.ArgMax(p);
            return new HeldOutConfidence(p[top], top == h.TrueClass);
        }).ToList();
        var trueClasses = evaluated.Select(e => e.TrueClass).ToList();
        var before = Reliability.OfProbabilities([.. evaluated.Select(e => TemperatureScaling.Softmax(e.Logits, 1))], trueClasses);
        var after = Reliability.OfProbabilities([.. evaluated.Select(e => TemperatureScaling.Softmax(e.Logits, fit.Temperature))], trueClasses);
        return new CalibrationSummary(fit, fit.Images > 0 ? source : null, before, after, confidences);
    }

    /// <summary>The log line: T, what it was fitted on, the NLL change and the evaluated split's ECE before → after.</summary>
    public string Describe(string evaluatedSplit)
    {
        var c = CultureInfo.InvariantCulture;
        var text = FittedOn is null
            ? "Calibration: temperature 1 (not fitted). "
            : string.Create(c, $"Calibration: temperature {Temperature:0.###} fitted on {Fit.Images} {(FittedOn == OutOfFold ? "out-of-fold cross-validation predictions of train + val" : "validation images")} (NLL {Fit.NllBefore:0.####} → {Fit.NllAfter:0.####}). ");
        if (Fit.Note is { } note) text += note + " ";
        return text + string.Create(c, $"Expected calibration error on {evaluatedSplit} ({Before.Count} images, {Reliability.DefaultBins} bins): {Before.Ece:P1} before, {After.Ece:P1} after.");
    }
}
