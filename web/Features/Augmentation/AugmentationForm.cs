using System.Globalization;
using TransferHub.Contracts.Jobs;

namespace TransferHub.Web.Features.Augmentation;

/// <summary>
/// THE web's augmentation settings: what the launch form edits (<see cref="Jobs.JobSettings.Augmentation"/>), the
/// preview renders, a run stores (in its settings JSON) and the worker gateway sends as <c>AugmentationSettings</c> of
/// <c>worker.proto</c> (<see cref="Workers.Gateway.RunSpec"/>). Checked by <see cref="JobRules.CheckAugmentation"/>, the
/// rules the worker applies. The input (image size, resize mode) is not part of it: it is the run's own
/// (<see cref="Jobs.JobSettings.ImageSize"/>, <see cref="Jobs.JobSettings.CenterCrop"/>), used by training and preview alike.
/// A record: a copy is <c>with { }</c> and two are equal when every setting is (the preview uses this to know it is stale).
/// </summary>
/// <remarks>The steps and their order are the worker's <c>TransformPipeline</c>'s: random resized crop (torchvision's
/// RandomResizedCrop) → horizontal flip (p = 0.5) → vertical flip (p = 0.5) → rotation → brightness, contrast, saturation
/// jitter (torchvision's ColorJitter, fixed order) → grayscale with a probability.</remarks>
public sealed record AugmentationForm
{
    /// <summary>Random resized crop on (its area is drawn from [<see cref="CropScaleMin"/>, 1]); off = the whole image.</summary>
    public bool RandomCrop { get; set; } = true;
    /// <summary>The crop's smallest fraction of the image area, above 0 and at most 1.</summary>
    public double CropScaleMin { get; set; } = 0.6;
    public bool HorizontalFlip { get; set; } = true;
    public bool VerticalFlip { get; set; }
    /// <summary>Rotation drawn uniformly from ± this many degrees, 0 to 180.</summary>
    public double RotationDegrees { get; set; } = 10;
    /// <summary>Brightness factor drawn from [1 − x, 1 + x], x at least 0 and below 1.</summary>
    public double Brightness { get; set; } = 0.2;
    /// <summary>Contrast factor range, as <see cref="Brightness"/>.</summary>
    public double Contrast { get; set; } = 0.2;
    /// <summary>Saturation factor range, as <see cref="Brightness"/>.</summary>
    public double Saturation { get; set; } = 0.2;
    /// <summary>Probability (0 to 1) that an image is turned grey.</summary>
    public double GrayscaleProbability { get; set; }

    /// <summary>These ranges as the shared job rules check them (<see cref="JobRules"/>), rounded to the 32-bit floats
    /// the wire carries: a worker checks those, so 0.999999999 (1 as a float) is refused here too, not by the worker.</summary>
    public AugmentationValues ToValues() => new(Wire(RandomCrop ? CropScaleMin : 0), RandomCrop ? 1 : 0, Wire(RotationDegrees),
        Wire(Brightness), Wire(Contrast), Wire(Saturation), Wire(GrayscaleProbability));

    /// <summary>Everything wrong with these settings, by API field (<c>augmentation.rotationDegrees</c>, …): the worker's rules.</summary>
    public IReadOnlyList<JobProblem> Problems() => JobRules.CheckAugmentation(ToValues());

    /// <summary>What this augmentation does, in the field's terms, as the run page, report and model card show it
    /// (e.g. "random resized crop (0.6–1), horizontal flip, rotation ±45°, grayscale p = 0.5"); "none" when every step is off.</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var steps = new List<string>();
        if (RandomCrop) steps.Add($"random resized crop ({CropScaleMin.ToString("0.##", c)}–1 of the area)");
        if (HorizontalFlip) steps.Add("horizontal flip");
        if (VerticalFlip) steps.Add("vertical flip");
        if (RotationDegrees > 0) steps.Add($"rotation ±{RotationDegrees.ToString("0.##", c)}°");
        if (Brightness > 0) steps.Add($"brightness ±{Brightness.ToString("0.##", c)}");
        if (Contrast > 0) steps.Add($"contrast ±{Contrast.ToString("0.##", c)}");
        if (Saturation > 0) steps.Add($"saturation ±{Saturation.ToString("0.##", c)}");
        if (GrayscaleProbability > 0) steps.Add($"grayscale p = {GrayscaleProbability.ToString("0.##", c)}");
        return steps.Count == 0 ? "none (every step off)" : string.Join(", ", steps);
    }

    private static double Wire(double value) => (float)value;
}
