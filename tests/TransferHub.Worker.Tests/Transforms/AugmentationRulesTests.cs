using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Tests.Transforms;

/// <summary>The augmentation preview and the transform pipeline check augmentation with the rules the launch form,
/// the API and the job spec use (contracts JobRules), in the same words.</summary>
public sealed class AugmentationRulesTests
{
    [Fact]
    public void ThePreviewsAugmentationCheckIsTheSharedOne()
    {
        var problems = new AugmentationOptions { RotationDegrees = 500, Brightness = 50, GrayscaleProbability = 7 }.Validate();

        Assert.Equal(
        [
            "augmentation.rotationDegrees: Rotation must be 0 to 180 degrees; got 500.",
            "augmentation.brightness: Brightness jitter must be at least 0 and below 1; got 50.",
            "augmentation.grayscaleProbability: Grayscale probability must be 0 to 1; got 7.",
        ], problems);
        Assert.Empty(AugmentationOptions.None.Validate());
        Assert.Empty(new AugmentationOptions { CropScaleMin = 0.6f, CropScaleMax = 1, HorizontalFlip = true, RotationDegrees = 10 }.Validate());
    }
}
