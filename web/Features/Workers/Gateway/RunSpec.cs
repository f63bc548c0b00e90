using Google.Protobuf;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Features.Jobs;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Workers.Gateway;

/// <summary>
/// The bytes a run is stored with and sent to a worker: the protobuf <c>JobSpec</c> of <c>worker.proto</c> (v1) built
/// from a <see cref="TrainingRequest"/>, minus the job id (each attempt gets its own). Re-queueing sends the same bytes,
/// so a retry trains on the data the user launched, not today's.
/// </summary>
public static class RunSpec
{
    /// <summary>The wire form of <paramref name="request"/>; augmentation only in fine-tuning with augmentation on.
    /// An Auto run carries only what Auto uses (backbone, input, batch size for feature extraction, seed, time budget):
    /// the recipe it ignores stays 0, "the default".</summary>
    public static byte[] Encode(TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var s = request.Settings;
        var fineTune = s.Mode == Data.TrainingMode.FineTune;
        var spec = s.Mode == Data.TrainingMode.Auto ? AutoSpec(request) : new JobSpec
        {
            Backbone = s.Backbone,
            Mode = fineTune ? JobMode.FineTune : JobMode.FeatureExtraction,
            UnfreezeStages = fineTune ? s.UnfreezeStages : 0,
            Head = new HeadSpec { HiddenUnits = s.HiddenUnits, Dropout = (float)s.Dropout },
            Optimizer = s.Optimizer switch
            {
                OptimizerChoice.AdamW => Optimizer.Adamw,
                OptimizerChoice.SgdMomentum => Optimizer.SgdMomentum,
                _ => Optimizer.Adam,
            },
            LearningRate = (float)s.LearningRate,
            BackboneLrMultiplier = (float)s.BackboneLrMultiplier,
            WeightDecay = (float)s.WeightDecay,
            Schedule = s.Schedule switch
            {
                ScheduleChoice.Cosine => Schedule.Cosine,
                ScheduleChoice.Step => Schedule.Step,
                _ => Schedule.Constant,
            },
            StepSize = s.StepSize,
            Epochs = s.Epochs,
            BatchSize = s.BatchSize,
            ImageSize = s.ImageSize,
            ResizeMode = ToWire(s.CenterCrop),
            EarlyStoppingPatience = s.EarlyStoppingPatience,
            Seed = request.Seed,
            DatasetVersion = request.DatasetVersion,
            ClassWeighting = s.ClassWeighting switch
            {
                ClassWeightingKind.InverseFrequency => ClassWeighting.InverseFrequency,
                ClassWeightingKind.EffectiveNumber => ClassWeighting.EffectiveNumber,
                _ => ClassWeighting.None,
            },
            ClassWeightBeta = s.ClassWeighting == ClassWeightingKind.EffectiveNumber ? (float)s.ClassWeightBeta : 0,
            BalancedSampling = s.BalancedSampling,
        };
        if (s.Augment && fineTune) spec.Augmentation = ToWire(s.Augmentation);
        // Always explicit, so that 0 stays "off" on the wire (absent would be the worker's default).
        if (fineTune) spec.HeadFirstEpochs = s.HeadFirstEpochs;
        spec.ClassNames.AddRange(request.ClassNames);
        spec.Items.AddRange(request.Images.Select(i => new DatasetItem { Sha256 = i.Sha256, ClassIndex = i.ClassIndex, Split = ToWire(i.Split) }));
        return spec.ToByteArray();
    }

    private static JobSpec AutoSpec(TrainingRequest request) => new()
    {
        Backbone = request.Settings.Backbone,
        Mode = JobMode.Auto,
        TimeBudgetSeconds = request.Settings.TimeBudgetSeconds,
        BatchSize = request.Settings.BatchSize,
        ImageSize = request.Settings.ImageSize,
        ResizeMode = ToWire(request.Settings.CenterCrop),
        Seed = request.Seed,
        DatasetVersion = request.DatasetVersion,
    };

    /// <summary>The content hashes of a stored run's images (what the worker must have before it starts).</summary>
    /// <summary>The spec's classes in model-output order (DatasetItem.class_index points into them).</summary>
    public static IReadOnlyList<string> ClassNames(byte[] spec) => [.. JobSpec.Parser.ParseFrom(spec).ClassNames];

    public static IReadOnlyList<string> ImageHashes(byte[] spec) => [.. JobSpec.Parser.ParseFrom(spec).Items.Select(i => i.Sha256)];

    /// <summary>The stored spec with the attempt's job id, ready to send.</summary>
    /// <summary>The stored spec as an attempt sends it: its worker job id set, and a fine-tune stored before head-first
    /// epochs existed (field absent, which a worker reads as "the default, 1") sent with 0, so that a re-queued run
    /// trains as it was launched and as its stored settings say.</summary>
    internal static JobSpec ForAttempt(byte[] spec, string workerJobId)
    {
        var parsed = JobSpec.Parser.ParseFrom(spec);
        parsed.JobId = workerJobId;
        if (parsed.Mode == JobMode.FineTune && !parsed.HasHeadFirstEpochs) parsed.HeadFirstEpochs = 0;
        return parsed;
    }

    /// <summary>The wire form of the augmentation: exactly the values its rules checked (<see cref="Augmentation.AugmentationForm.ToValues"/>).</summary>
    internal static AugmentationSettings ToWire(Augmentation.AugmentationForm form)
    {
        var a = form.ToValues();
        return new()
        {
            CropScaleMin = (float)a.CropScaleMin,
            CropScaleMax = (float)a.CropScaleMax,
            HorizontalFlip = form.HorizontalFlip,
            VerticalFlip = form.VerticalFlip,
            RotationDegrees = (float)a.RotationDegrees,
            Brightness = (float)a.Brightness,
            Contrast = (float)a.Contrast,
            Saturation = (float)a.Saturation,
            GrayscaleProbability = (float)a.GrayscaleProbability,
        };
    }

    /// <summary>The run's resize mode on the wire: centre crop, or squash (the default).</summary>
    internal static ResizeMode ToWire(bool centerCrop) => centerCrop ? ResizeMode.CenterCrop : ResizeMode.Squash;

    internal static Split ToWire(DataSplitKind split) => split switch
    {
        DataSplitKind.Val => Split.Val,
        DataSplitKind.Test => Split.Test,
        _ => Split.Train,
    };

    internal static string SplitName(Split split) => split switch
    {
        Split.Test => "test",
        Split.Val => "val",
        Split.Train => "train",
        _ => "unknown",
    };
}
