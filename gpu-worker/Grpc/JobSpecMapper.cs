using Grpc.Core;
using TransferHub.Contracts.Jobs;
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
        var duplicate = spec.Items.GroupBy(i => i.Sha256).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) errors.Add($"image {duplicate.Key} appears {duplicate.Count()} times; each image may appear once");

        var mode = spec.Mode switch
        {
            JobMode.FineTune => TrainingMode.FineTune,
            JobMode.Auto => TrainingMode.Auto,
            _ => TrainingMode.FeatureExtraction,
        };
        var timeBudget = spec.TimeBudgetSeconds != 0 ? spec.TimeBudgetSeconds : JobDefaults.AutoTimeBudgetSeconds;
        // The web's rules per mode: Auto's time budget is checked, the recipe it ignores is not.
        var kind = mode switch
        {
            TrainingMode.FineTune => JobModeKind.FineTune,
            TrainingMode.Auto => JobModeKind.Auto,
            _ => JobModeKind.FeatureExtraction,
        };
        var augmentation = ToAugmentation(spec.Augmentation);
        // 0 means "the default" on the wire (proto3 has no presence for scalars); the defaults are the web's own.
        var values = new JobValues
        {
            Backbone = descriptor.Name,
            Mode = kind,
            UnfreezeStages = spec.UnfreezeStages,
            BackboneStages = descriptor.Stages,
            HiddenUnits = spec.Head?.HiddenUnits ?? 0,
            Dropout = spec.Head?.Dropout ?? 0,
            LearningRate = spec.LearningRate != 0 ? spec.LearningRate : JobDefaults.LearningRate(kind),
            BackboneLrMultiplier = spec.BackboneLrMultiplier != 0 ? spec.BackboneLrMultiplier : JobDefaults.BackboneLrMultiplier,
            WeightDecay = spec.WeightDecay,
            Momentum = spec.Momentum != 0 ? spec.Momentum : JobDefaults.Momentum,
            StepSchedule = spec.Schedule == Schedule.Step,
            StepSize = spec.StepSize != 0 ? spec.StepSize : JobDefaults.StepSize,
            StepGamma = spec.StepGamma != 0 ? spec.StepGamma : JobDefaults.StepGamma,
            Epochs = spec.Epochs != 0 ? spec.Epochs : JobDefaults.Epochs(kind),
            BatchSize = spec.BatchSize != 0 ? spec.BatchSize : JobDefaults.BatchSize,
            ImageSize = spec.ImageSize != 0 ? spec.ImageSize : descriptor.InputSize,
            EarlyStoppingPatience = spec.EarlyStoppingPatience,
            Seed = spec.Seed,
            Augmentation = augmentation.ToValues(),
            TimeBudgetSeconds = timeBudget,
            // Auto mode compares its own class-balanced candidates; these are the manual modes' options.
            ClassWeighting = mode == TrainingMode.Auto ? ClassWeightingKind.None : ToClassWeighting(spec.ClassWeighting),
            ClassWeightBeta = spec.ClassWeightBeta != 0 ? spec.ClassWeightBeta : JobDefaults.ClassWeightBeta,
            BalancedSampling = mode != TrainingMode.Auto && spec.BalancedSampling,
        };
        if (kind == JobModeKind.FineTune)
            values = values with { HeadFirstEpochs = spec.HasHeadFirstEpochs ? spec.HeadFirstEpochs : JobDefaults.HeadFirstEpochs(values.Epochs) };
        errors.AddRange(JobRules.Check(values).Select(p => $"{p.Field}: {p.Message}"));
        if (badClass is null && spec.ClassNames.Count >= 2 && spec.Items.Count > 0)
            errors.AddRange(TrainingDataRules.Check(spec.ClassNames, spec.Items.Where(i => i.Split != Split.Unspecified).Select(i => (i.ClassIndex, i.Split switch
            {
                Split.Val => DataSplitKind.Val,
                Split.Test => DataSplitKind.Test,
                _ => DataSplitKind.Train,
            }))).Problems);

        if (errors.Count > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Invalid job spec: " + string.Join("; ", errors) + "."));

        var missing = images.FindMissing(spec.Items.Select(i => i.Sha256));
        if (missing.Count > 0)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{missing.Count} image(s) of the job are not on this worker (first: {missing[0]}); upload them with UploadImages first."));

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
            LearningRate = (float)values.LearningRate,
            BackboneLrMultiplier = (float)values.BackboneLrMultiplier,
            WeightDecay = spec.WeightDecay,
            Momentum = (float)values.Momentum,
            Schedule = spec.Schedule switch
            {
                Schedule.Cosine => LrSchedule.Cosine,
                Schedule.Step => LrSchedule.Step,
                _ => LrSchedule.Constant,
            },
            StepSize = values.StepSize,
            StepGamma = (float)values.StepGamma,
            Epochs = values.Epochs,
            BatchSize = values.BatchSize,
            ImageSize = values.ImageSize,
            Resize = ToResize(spec.ResizeMode),
            Augmentation = augmentation,
            EarlyStoppingPatience = spec.EarlyStoppingPatience,
            Seed = spec.Seed,
            DatasetVersion = spec.DatasetVersion,
            TimeBudgetSeconds = timeBudget,
            ClassWeighting = values.ClassWeighting,
            ClassWeightBeta = values.ClassWeightBeta,
            BalancedSampling = values.BalancedSampling,
            HeadFirstEpochs = values.HeadFirstEpochs,
        };
    }

    public static ClassWeightingKind ToClassWeighting(ClassWeighting weighting) => weighting switch
    {
        ClassWeighting.InverseFrequency => ClassWeightingKind.InverseFrequency,
        ClassWeighting.EffectiveNumber => ClassWeightingKind.EffectiveNumber,
        ClassWeighting.None or ClassWeighting.Unspecified => ClassWeightingKind.None,
        _ => (ClassWeightingKind)(-1), // an unknown wire value: JobRules names it
    };

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

    public static V1.ResizeMode ToWire(Engine.Transforms.ResizeMode mode) =>
        mode == Engine.Transforms.ResizeMode.CenterCrop ? V1.ResizeMode.CenterCrop : V1.ResizeMode.Squash;

    private static void Check(List<string> errors, bool ok, string message)
    {
        if (!ok) errors.Add(message);
    }
}
