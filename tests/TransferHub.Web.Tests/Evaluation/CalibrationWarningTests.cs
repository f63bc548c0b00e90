using TransferHub.Contracts.Metrics;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Evaluation;

/// <summary>A temperature fitted on a few validation images can make the test split's calibration worse (browser
/// walk-through: T = 11.1 on 39 images, test ECE 25.4 % → 46.9 %, nothing said): the run says so.</summary>
public sealed class CalibrationWarningTests
{
    private static RunCalibration Calibration(string? fittedOn, Reliability before, Reliability after) =>
        new(fittedOn is null ? 1 : 11.1, fittedOn, null, 39, 1.2, 0.9, before, after, []);

    // Three test images, two right: confident at 0.99 (ECE 0.32) vs hesitant at 0.4 (ECE 0.27) vs at 0.66 (ECE ≈ 0).
    private static readonly Reliability Overconfident = Reliability.Of([0.99, 0.99, 0.99], [true, true, false]);
    private static readonly Reliability Hesitant = Reliability.Of([0.4, 0.4, 0.4], [true, true, false]);
    private static readonly Reliability Calibrated = Reliability.Of([2 / 3.0, 2 / 3.0, 2 / 3.0], [true, true, false]);

    [Fact]
    public void AFittedTemperatureThatMadeTheTestSplitWorseIsNamedWithBothEces()
    {
        var warning = Calibration("validation", Calibrated, Overconfident).WorseOnEvaluatedSplit("test");

        Assert.NotNull(warning);
        Assert.StartsWith("The temperature made the test split's calibration worse (ECE 0.0", warning);
        Assert.Contains("→ 32.3", warning);
        Assert.Contains("39 validation images", warning);
    }

    [Fact]
    public void ABetterOrUnfittedCalibrationSaysNothing()
    {
        Assert.Null(Calibration("validation", Overconfident, Hesitant).WorseOnEvaluatedSplit("test"));
        Assert.Null(Calibration("validation", Overconfident, Calibrated).WorseOnEvaluatedSplit("test"));
        Assert.Null(Calibration(null, Calibrated, Overconfident).WorseOnEvaluatedSplit("test")); // T = 1: nothing was changed
    }
}
