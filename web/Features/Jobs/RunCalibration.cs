using System.Text.Json;
using TransferHub.Contracts.Metrics;

namespace TransferHub.Web.Features.Jobs;

/// <summary>
/// A run's calibration as the worker reported it (ADR 022): the temperature T (probabilities = softmax(logits / T);
/// temperature scaling, Guo et al. 2017), what it was fitted on (<c>validation</c>, <c>out-of-fold</c> for auto runs, or
/// null: not fitted, T = 1) and why not or why at a bound (<see cref="Note"/>); the mean NLL of the held-out images at
/// T = 1 and at T (nats; null when not fitted); the evaluated split's reliability diagram and expected calibration error
/// before and after; and each held-out image's calibrated confidence and correctness, on which the "unknown" threshold
/// is chosen (<see cref="RejectionThreshold"/>). Stored with the run as JSON.
/// </summary>
public sealed record RunCalibration(double Temperature, string? FittedOn, string? Note, int FittedImages, double? NllBefore, double? NllAfter,
    Reliability Before, Reliability After, IReadOnlyList<HeldOutConfidence> HeldOut)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunCalibration? FromJson(string? json) => json is null ? null : JsonSerializer.Deserialize<RunCalibration>(json, Json);

    /// <summary>The threshold for <paramref name="targetPrecision"/> on the held-out confidences.</summary>
    public RejectionChoice Choose(double targetPrecision) => RejectionThreshold.Choose(HeldOut, targetPrecision);

    /// <summary>ECE points by which the temperature may worsen the evaluated split before <see cref="WorseOnEvaluatedSplit"/>
    /// speaks up (below that, one image of a small split moves it).</summary>
    public const double WorseBy = 0.01;

    /// <summary>A warning when the fitted temperature made the evaluated (test) split's calibration worse by more than
    /// <see cref="WorseBy"/>, or null. Seen in the browser walk-through: a fine-tune at learning rate 0.3 fitted T = 11.1
    /// on 39 validation images and its test ECE went from 25.4 % to 46.9 % with nothing said.</summary>
    public string? WorseOnEvaluatedSplit(string split) =>
        FittedOn is not null && After.Ece > Before.Ece + WorseBy
            ? $"The temperature made the {split} split's calibration worse (ECE {Before.Ece:P1} → {After.Ece:P1}): the {FittedOnText} " +
              $"it was fitted on do not behave like the {split} images. Trust this run's probabilities less, and its \"unknown\" threshold " +
              "too; more validation images, or a run that generalises better, fixes it."
            : null;

    /// <summary>What the temperature was fitted on, in words.</summary>
    public string FittedOnText => FittedOn switch
    {
        "validation" => $"{FittedImages} validation images",
        "out-of-fold" => $"the winner's out-of-fold cross-validation predictions of {FittedImages} train + val images",
        _ => "nothing (not fitted)",
    };
}

/// <summary>A run's calibration with the user's target precision and the threshold chosen for it.</summary>
public sealed record CalibrationView(RunCalibration Calibration, double TargetPrecision, RejectionChoice Rejection)
{
    public static CalibrationView? Of(string? calibrationJson, double? targetPrecision)
    {
        if (RunCalibration.FromJson(calibrationJson) is not { } calibration) return null;
        var target = targetPrecision ?? RejectionThreshold.DefaultTargetPrecision;
        return new CalibrationView(calibration, target, calibration.Choose(target));
    }
}
