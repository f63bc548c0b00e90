namespace TransferHub.Worker.Engine.Transforms;

/// <summary>How an image is brought to the square model input.</summary>
public enum ResizeMode
{
    /// <summary>Resize the whole image to the square (no crop). The default: objects usually fill the frame.</summary>
    Squash,
    /// <summary>Resize the short side to the input size, then crop the centre.</summary>
    CenterCrop,
}

/// <summary>Random augmentation settings. All-zero/false means no augmentation.</summary>
public sealed record AugmentationOptions
{
    public static readonly AugmentationOptions None = new();

    /// <summary>Random resized crop: min/max fraction of the image area kept (0/0 = off).</summary>
    public float CropScaleMin { get; init; }
    public float CropScaleMax { get; init; }
    public bool HorizontalFlip { get; init; }
    public bool VerticalFlip { get; init; }
    public float RotationDegrees { get; init; }
    public float Brightness { get; init; }
    public float Contrast { get; init; }
    public float Saturation { get; init; }
    public float GrayscaleProbability { get; init; }

    public bool IsNone => this with { } == None;

    /// <summary>These ranges as the shared job rules see them (null when there is no augmentation).</summary>
    public Contracts.Jobs.AugmentationValues? ToValues() => IsNone ? null
        : new(CropScaleMin, CropScaleMax, RotationDegrees, Brightness, Contrast, Saturation, GrayscaleProbability);

    /// <summary>The problems with these settings (the same rules and words as the launch form and the API:
    /// <see cref="Contracts.Jobs.JobRules.CheckAugmentation"/>), or an empty list.</summary>
    public IReadOnlyList<string> Validate() => ToValues() is { } values
        ? [.. Contracts.Jobs.JobRules.CheckAugmentation(values).Select(p => $"{p.Field}: {p.Message}")]
        : [];
}

/// <summary>
/// Per-backbone input normalisation applied to 0..255 RGB bytes:
/// value = (pixel * Scale - Mean[c]) / Std[c], channels in BGR order when <see cref="Bgr"/>.
/// </summary>
public sealed record Normalization(float Scale, float[] Mean, float[] Std, bool Bgr)
{
    /// <summary>torchvision's ImageNet statistics on 0..1 RGB.</summary>
    public static readonly Normalization ImageNet = new(1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], Bgr: false);
}
