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

    /// <summary>Returns the problems with these settings, or an empty list.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (CropScaleMin != 0 || CropScaleMax != 0)
        {
            if (!(CropScaleMin > 0 && CropScaleMin <= CropScaleMax && CropScaleMax <= 1))
                errors.Add($"crop scale must satisfy 0 < min <= max <= 1 (or both 0 for no crop); got {CropScaleMin}..{CropScaleMax}");
        }
        if (RotationDegrees is < 0 or > 180) errors.Add($"rotation must be 0..180 degrees; got {RotationDegrees}");
        if (Brightness is < 0 or >= 1) errors.Add($"brightness jitter must be in [0, 1); got {Brightness}");
        if (Contrast is < 0 or >= 1) errors.Add($"contrast jitter must be in [0, 1); got {Contrast}");
        if (Saturation is < 0 or >= 1) errors.Add($"saturation jitter must be in [0, 1); got {Saturation}");
        if (GrayscaleProbability is < 0 or > 1) errors.Add($"grayscale probability must be in [0, 1]; got {GrayscaleProbability}");
        return errors;
    }
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
