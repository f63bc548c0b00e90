using Grpc.Core;
using TransferHub.Imaging;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Grpc;

/// <summary>Validates a wire JobSpec and turns it into a <see cref="TrainingSpec"/>, filling documented defaults.
/// Every problem is reported at once, with what is allowed.</summary>
internal static class JobSpecMapper
{
    public static TrainingSpec ToTrainingSpec(JobSpec spec, BackboneRegistry backbones, ImageStore images)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(spec.JobId) || spec.JobId.Length > 64 || !spec.JobId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            errors.Add("job_id is required: 1-64 letters, digits, '-' or '_'");

        var usable = backbones.Descriptors.Where(d => d.Error is null).ToList();
        var descriptor = backbones.Descriptors.FirstOrDefault(d => d.Name == spec.Backbone);
        if (descriptor is null)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"Unknown backbone '{spec.Backbone}'. Available: {string.Join(", ", usable.Select(d => d.Name))}."));
        if (descriptor.Error is not null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Backbone '{descriptor.Name}' cannot be used: {descriptor.Error}"));

        if (spec.ClassNames.Count < 2) errors.Add($"class_names needs at least 2 classes; got {spec.ClassNames.Count}");
        if (spec.ClassNames.Distinct().Count() != spec.ClassNames.Count) errors.Add("class_names must be unique");
        if (spec.Items.Count == 0) errors.Add("items is empty: the dataset has no images");
        var badClass = spec.Items.FirstOrDefault(i => i.ClassIndex < 0 || i.ClassIndex >= spec.ClassNames.Count);
        if (badClass is not null) errors.Add($"item {badClass.Sha256} has class_index {badClass.ClassIndex}; allowed 0..{spec.ClassNames.Count - 1}");
        var badSplit = spec.Items.FirstOrDefault(i => i.Split == Split.Unspecified);
        if (badSplit is not null) errors.Add($"item {badSplit.Sha256} has no split; use SPLIT_TRAIN, SPLIT_VAL or SPLIT_TEST");
        var badHash = spec.Items.FirstOrDefault(i => !ContentHash.IsSha256(i.Sha256));
        if (badHash is not null) errors.Add($"'{badHash.Sha256}' is not a lower-case hex SHA-256");
        if (spec.Items.Count > 0 && spec.Items.All(i => i.Split != Split.Train)) errors.Add("no item is in the train split");
        var duplicate = spec.Items.GroupBy(i => i.Sha256).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) errors.Add($"image {duplicate.Key} appears {duplicate.Count()} times; each image may appear once");

        var mode = spec.Mode switch
        {
            JobMode.FineTune => TrainingMode.FineTune,
            _ => TrainingMode.FeatureExtraction,
        };
        if (spec.UnfreezeStages < 0 || spec.UnfreezeStages > descriptor.Stages)
            errors.Add($"unfreeze_stages must be 0 (all) .. {descriptor.Stages} for {descriptor.Name}; got {spec.UnfreezeStages}");
        if (spec.Head is { } head)
        {
            if (head.HiddenUnits is < 0 or > 8192) errors.Add($"head.hidden_units must be 0 (linear) .. 8192; got {head.HiddenUnits}");
            if (head.Dropout is < 0 or >= 1) errors.Add($"head.dropout must be in [0, 1); got {head.Dropout}");
        }
        Check(errors, spec.LearningRate is >= 0 and <= 10, $"learning_rate must be in (0, 10] (0 = default); got {spec.LearningRate}");
        Check(errors, spec.BackboneLrMultiplier is >= 0 and <= 10, $"backbone_lr_multiplier must be in (0, 10] (0 = default 0.1); got {spec.BackboneLrMultiplier}");
        Check(errors, spec.WeightDecay is >= 0 and <= 1, $"weight_decay must be in [0, 1]; got {spec.WeightDecay}");
        Check(errors, spec.Momentum is >= 0 and < 1, $"momentum must be in [0, 1) (0 = default 0.9); got {spec.Momentum}");
        Check(errors, spec.Epochs is >= 0 and <= 1000, $"epochs must be 1..1000 (0 = default); got {spec.Epochs}");
        Check(errors, spec.BatchSize is >= 0 and <= 1024, $"batch_size must be 1..1024 (0 = default 32); got {spec.BatchSize}");
        Check(errors, spec.ImageSize == 0 || spec.ImageSize is >= 32 and <= 1024, $"image_size must be 32..1024 pixels (0 = the backbone's {descriptor.InputSize}); got {spec.ImageSize}");
        Check(errors, spec.EarlyStoppingPatience is >= 0 and <= 1000, $"early_stopping_patience must be 0 (off) .. 1000; got {spec.EarlyStoppingPatience}");
        Check(errors, spec.Schedule != Schedule.Step || spec.StepSize is >= 0 and <= 1000, $"step_size must be 1..1000 epochs; got {spec.StepSize}");
        Check(errors, spec.StepGamma is >= 0 and <= 1, $"step_gamma must be in (0, 1] (0 = default 0.1); got {spec.StepGamma}");
        var augmentation = ToAugmentation(spec.Augmentation);
        errors.AddRange(augmentation.Validate().Select(e => "augmentation: " + e));

        if (errors.Count > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Invalid job spec: " + string.Join("; ", errors) + "."));

        var missing = images.FindMissing(spec.Items.Select(i => i.Sha256));
        if (missing.Count > 0)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{missing.Count} image(s) of the job are not on this worker (first: {missing[0]}); upload them with UploadImages first."));

        var featureExtraction = mode == TrainingMode.FeatureExtraction;
        return new TrainingSpec
        {
            JobId = spec.JobId,
            Items = spec.Items.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split switch
            {
                Split.Val => DataSplit.Val,
                Split.Test => DataSplit.Test,
                _ => DataSplit.Train,
            })).ToList(),
            ClassNames = spec.ClassNames.ToList(),
            Backbone = descriptor.Name,
            Mode = mode,
            UnfreezeStages = spec.UnfreezeStages,
            HiddenUnits = spec.Head?.HiddenUnits ?? 0,
            Dropout = spec.Head?.Dropout ?? 0,
            Optimizer = spec.Optimizer switch
            {
                Optimizer.Adamw => OptimizerKind.AdamW,
                Optimizer.SgdMomentum => OptimizerKind.SgdMomentum,
                _ => OptimizerKind.Adam,
            },
            // Defaults measured in bench/: the head on cached features likes a larger step than fine-tuning does.
            LearningRate = spec.LearningRate > 0 ? spec.LearningRate : featureExtraction ? 3e-3f : 1e-3f,
            BackboneLrMultiplier = spec.BackboneLrMultiplier > 0 ? spec.BackboneLrMultiplier : 0.1f,
            WeightDecay = spec.WeightDecay,
            Momentum = spec.Momentum > 0 ? spec.Momentum : 0.9f,
            Schedule = spec.Schedule switch
            {
                Schedule.Cosine => LrSchedule.Cosine,
                Schedule.Step => LrSchedule.Step,
                _ => LrSchedule.Constant,
            },
            StepSize = spec.StepSize > 0 ? spec.StepSize : 10,
            StepGamma = spec.StepGamma > 0 ? spec.StepGamma : 0.1f,
            Epochs = spec.Epochs > 0 ? spec.Epochs : featureExtraction ? 30 : 10,
            BatchSize = spec.BatchSize > 0 ? spec.BatchSize : 32,
            ImageSize = spec.ImageSize > 0 ? spec.ImageSize : descriptor.InputSize,
            Resize = ToResize(spec.ResizeMode),
            Augmentation = augmentation,
            EarlyStoppingPatience = spec.EarlyStoppingPatience,
            Seed = spec.Seed,
            DatasetVersion = spec.DatasetVersion,
        };
    }

    public static AugmentationOptions ToAugmentation(AugmentationSettings? a) => a is null
        ? AugmentationOptions.None
        : new AugmentationOptions
        {
            CropScaleMin = a.CropScaleMin,
            CropScaleMax = a.CropScaleMax,
            HorizontalFlip = a.HorizontalFlip,
            VerticalFlip = a.VerticalFlip,
            RotationDegrees = a.RotationDegrees,
            Brightness = a.Brightness,
            Contrast = a.Contrast,
            Saturation = a.Saturation,
            GrayscaleProbability = a.GrayscaleProbability,
        };

    public static Engine.Transforms.ResizeMode ToResize(V1.ResizeMode mode) =>
        mode == V1.ResizeMode.CenterCrop ? Engine.Transforms.ResizeMode.CenterCrop : Engine.Transforms.ResizeMode.Squash;

    private static void Check(List<string> errors, bool ok, string message)
    {
        if (!ok) errors.Add(message);
    }
}
