using System.Text.Json;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Augmentation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Tests.Reports;
using TransferHub.Web.Features.Workers.Gateway;
using JobSpec = TransferHub.Worker.V1.JobSpec;
using WireResizeMode = TransferHub.Worker.V1.ResizeMode;

namespace TransferHub.Web.Tests.Augmentation;

/// <summary>Issue 14 §2: the launch form's augmentation is the one the worker checks and trains with, and what a run
/// shows it used.</summary>
public sealed class AugmentationSettingsTests
{
    private static JobSettings FineTune(Action<AugmentationForm>? change = null)
    {
        var settings = JobSettings.ForMode(TrainingMode.FineTune, "resnet18x3-imagenet");
        change?.Invoke(settings.Augmentation);
        return settings;
    }

    [Theory]
    [InlineData("cropScaleMin", 0.0)]
    [InlineData("cropScaleMin", 1.5)]
    [InlineData("rotationDegrees", 181.0)]
    [InlineData("rotationDegrees", -1.0)]
    [InlineData("brightness", 1.0)]
    [InlineData("contrast", -0.1)]
    [InlineData("saturation", double.NaN)]
    [InlineData("grayscaleProbability", 1.01)]
    // Below the limit as a double, but the float the wire carries is the limit itself: a worker refuses that.
    [InlineData("brightness", 0.9999999999)]
    public void EveryAugmentationValueAWorkerWouldRefuseStopsTheLaunchWithItsField(string field, double value)
    {
        var settings = FineTune(a =>
        {
            switch (field)
            {
                case "cropScaleMin": a.CropScaleMin = value; break;
                case "rotationDegrees": a.RotationDegrees = value; break;
                case "brightness": a.Brightness = value; break;
                case "contrast": a.Contrast = value; break;
                case "saturation": a.Saturation = value; break;
                default: a.GrayscaleProbability = value; break;
            }
        });

        var problem = Assert.Single(settings.Problems());

        Assert.Equal($"augmentation.{field}", problem.Field);
        Assert.Equal(problem, Assert.Single(AugmentationPreviewService.Problems(settings)));
    }

    [Fact]
    public void TheLimitsThemselvesAndAnAugmentationWithEveryStepOffAreAccepted()
    {
        Assert.Empty(FineTune(a => (a.RotationDegrees, a.Brightness, a.GrayscaleProbability, a.CropScaleMin) = (180, 0.99, 1, 1)).Problems());
        Assert.Empty(FineTune(a => (a.RandomCrop, a.CropScaleMin, a.HorizontalFlip, a.RotationDegrees, a.Brightness, a.Contrast, a.Saturation)
            = (false, 0, false, 0, 0, 0, 0)).Problems());
    }

    [Fact]
    public void ADropoutOrBetaThatTheWireRoundsToOneIsRefusedBeforeItIsQueued()
    {
        var settings = FineTune();
        settings.HiddenUnits = 16;
        settings.Dropout = 0.99999999999;
        settings.ClassWeighting = Contracts.Jobs.ClassWeightingKind.EffectiveNumber;
        settings.ClassWeightBeta = 0.99999999999;

        Assert.Equal(["dropout", "classWeightBeta"], settings.Problems().Select(p => p.Field));
    }

    [Fact]
    public void AFineTuneSendsTheFormsAugmentationAndResizeModeToTheWorker()
    {
        var settings = FineTune(a => (a.RotationDegrees, a.GrayscaleProbability, a.VerticalFlip, a.CropScaleMin) = (45, 0.5, true, 0.3));
        settings.CenterCrop = true;

        var spec = JobSpec.Parser.ParseFrom(RunSpec.Encode(new TrainingRequest(settings, 1, ["a", "b"], [], "v")));

        Assert.Equal(WireResizeMode.CenterCrop, spec.ResizeMode);
        Assert.Equal((45f, 0.5f, true, true, 0.3f, 1f), (spec.Augmentation.RotationDegrees, spec.Augmentation.GrayscaleProbability,
            spec.Augmentation.VerticalFlip, spec.Augmentation.HorizontalFlip, spec.Augmentation.CropScaleMin, spec.Augmentation.CropScaleMax));
        Assert.Equal((0.2f, 0.2f, 0.2f), (spec.Augmentation.Brightness, spec.Augmentation.Contrast, spec.Augmentation.Saturation));

        settings.Augment = false;
        Assert.Null(JobSpec.Parser.ParseFrom(RunSpec.Encode(new TrainingRequest(settings, 1, ["a", "b"], [], "v"))).Augmentation);
    }

    [Fact]
    public void ARunsSettingsNameEveryAugmentationStepItUsed()
    {
        var settings = FineTune(a => (a.RotationDegrees, a.GrayscaleProbability, a.Saturation) = (45, 0.5, 0));

        var shown = settings.Describe(1).Single(r => r.Key == "Augmentation").Value;

        Assert.Equal("random resized crop (0.6–1 of the area), horizontal flip, rotation ±45°, brightness ±0.2, contrast ±0.2, grayscale p = 0.5", shown);
        settings.Augment = false;
        Assert.Equal("off", settings.Describe(1).Single(r => r.Key == "Augmentation").Value);
        Assert.Equal("off", JobSettings.ForMode(TrainingMode.FeatureExtraction, "b").Describe(1).Single(r => r.Key == "Augmentation").Value);
    }

    [Fact]
    public void TheReportListsTheRunsWholeAugmentationWrappedInItsCell()
    {
        var settings = FineTune(a => (a.VerticalFlip, a.RotationDegrees, a.GrayscaleProbability) = (true, 45, 0.5));
        var report = ReportSamples.Standard() with { Hyperparameters = settings.Describe(42) };

        using var pdf = new RenderedPdf(RunReportRenderer.Pdf(report));

        var text = System.Text.RegularExpressions.Regex.Replace(string.Join(" ", pdf.PageTexts()), @"\s+", " ");
        Assert.Contains(settings.Augmentation.Describe(), text);
        Assert.Contains("vertical flip", settings.Augmentation.Describe());
    }

    [Fact]
    public void ARunStoredWithThePreviewsOldImageSizeInItsAugmentationStillReads()
    {
        var stored = JsonSerializer.SerializeToNode(FineTune(a => a.RotationDegrees = 30))!.AsObject();
        stored["Augmentation"]!["ImageSize"] = 96;

        var read = JsonSerializer.Deserialize<JobSettings>(stored.ToJsonString())!;

        Assert.Equal(30, read.Augmentation.RotationDegrees);
        Assert.Equal(FineTune(a => a.RotationDegrees = 30).Augmentation, read.Augmentation);
    }

    [Fact]
    public void UsingThePreviewedSettingsTakesItsAugmentationSizeAndResizeModeAndKeepsTheRest()
    {
        var form = FineTune();
        form.Augment = false;
        form.Epochs = 3;
        var previewed = form.Clone();
        previewed.Augmentation.RotationDegrees = 45;
        previewed.ImageSize = 96;
        previewed.CenterCrop = true;
        previewed.Epochs = 99;

        Assert.Equal(10, form.Augmentation.RotationDegrees); // a clone is independent
        form.UsePreviewed(previewed);

        Assert.Equal((true, 45.0, 96, true, 3), (form.Augment, form.Augmentation.RotationDegrees, form.ImageSize, form.CenterCrop, form.Epochs));
        previewed.Augmentation.GrayscaleProbability = 1;
        Assert.Equal(0, form.Augmentation.GrayscaleProbability);
    }

    [Fact]
    public void APreviewLinkCarriesAugmentationSizeAndResizeModeAndAnythingElseIsIgnored()
    {
        var settings = FineTune(a => (a.RotationDegrees, a.GrayscaleProbability) = (45, 0.5));
        settings.ImageSize = 128;
        settings.CenterCrop = true;

        var read = PreviewLink.Decode(PreviewLink.Encode(settings))!;

        Assert.Equal((settings.Augmentation, 128, true), (read.Augmentation, read.ImageSize, read.CenterCrop));
        Assert.Null(PreviewLink.Decode("not-base64!"));
        Assert.Null(PreviewLink.Decode(Convert.ToBase64String("{\"imageSize\":\"big\"}"u8.ToArray())));
        Assert.Null(PreviewLink.Decode(""));
    }
}
