using System.Globalization;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Augmentation;

namespace TransferHub.Web.Features.Jobs;

public enum OptimizerChoice { Adam, AdamW, SgdMomentum }

public enum ScheduleChoice { Constant, Cosine, Step }

/// <summary>What a user chooses when launching a run: the launch form's model, stored with the job as JSON and
/// sent to workers as part of the run's spec (<see cref="Workers.Gateway.RunSpec"/>). <see cref="ForMode"/> gives the defaults per mode; <see cref="Problems"/>
/// explains invalid combinations before anything is submitted.</summary>
public sealed class JobSettings
{
    public const int MaxSeeds = JobRules.MaxSeeds;

    public string Backbone { get; set; } = "";
    public TrainingMode Mode { get; set; } = TrainingMode.FeatureExtraction;
    /// <summary>Fine-tuning: how many of the backbone's last stages train (0 = all).</summary>
    public int UnfreezeStages { get; set; } = 1;
    public int HiddenUnits { get; set; }
    public double Dropout { get; set; }
    public OptimizerChoice Optimizer { get; set; } = OptimizerChoice.Adam;
    public double LearningRate { get; set; } = JobDefaults.FeatureExtractionLearningRate;
    public double BackboneLrMultiplier { get; set; } = JobDefaults.BackboneLrMultiplier;
    public double WeightDecay { get; set; }
    public ScheduleChoice Schedule { get; set; } = ScheduleChoice.Constant;
    public int StepSize { get; set; } = JobDefaults.StepSize;
    public int Epochs { get; set; } = JobDefaults.FeatureExtractionEpochs;
    public int BatchSize { get; set; } = JobDefaults.BatchSize;
    public int ImageSize { get; set; } = JobDefaults.ImageSize;
    /// <summary>Resize mode: the centred square (true) or the whole image squashed to ImageSize² (false, the default).</summary>
    public bool CenterCrop { get; set; }
    /// <summary>Fine-tuning: augment training images with <see cref="Augmentation"/> (feature extraction and Auto refuse it).</summary>
    public bool Augment { get; set; }
    /// <summary>The augmentation fine-tuning applies when <see cref="Augment"/> is on: every step editable on the launch form
    /// and in the preview it opens, stored with the run and shown on its page, report and model card.</summary>
    public AugmentationForm Augmentation { get; set; } = new();
    /// <summary>Stop after this many epochs without a better validation accuracy (0 = off).</summary>
    public int EarlyStoppingPatience { get; set; } = JobDefaults.FeatureExtractionPatience;
    public long Seed { get; set; } = 1;
    /// <summary>Launch this many runs with seeds Seed, Seed+1, …, grouped for mean ± std.</summary>
    public int Repeats { get; set; } = 1;
    /// <summary>Auto mode: the wall-clock budget of the whole run (feature extraction included), in seconds.</summary>
    public int TimeBudgetSeconds { get; set; } = JobDefaults.AutoTimeBudgetSeconds;
    /// <summary>How the training loss weighs each class (<see cref="ClassWeights"/>); none for runs stored before it existed.</summary>
    public ClassWeightingKind ClassWeighting { get; set; }
    /// <summary>β of effective-number class weights.</summary>
    public double ClassWeightBeta { get; set; } = JobDefaults.ClassWeightBeta;
    /// <summary>Each epoch draws training images class-balanced (with replacement) instead of each once.</summary>
    public bool BalancedSampling { get; set; }
    /// <summary>Fine-tuning: epochs that train only the head before the stages unfreeze (0 = off, as in runs stored
    /// before it existed; <see cref="ForMode"/> gives the default).</summary>
    public int HeadFirstEpochs { get; set; }

    /// <summary>Sensible defaults (<see cref="JobDefaults"/>, shared with the worker): a frozen backbone trains a head fast
    /// at a larger step for more epochs (features are cached, so epochs are cheap, and augmentation would defeat the
    /// cache); fine-tuning uses a smaller step, fewer epochs, light augmentation and unfreezes the last stage; Auto has
    /// no recipe, only a time budget (the recipe fields keep feature extraction's values, which it ignores).</summary>
    /// <param name="autoTimeBudgetSeconds">Auto mode's budget: the fleet's default (<see cref="AutoBudgetDefault"/>), or
    /// <see cref="JobDefaults.AutoTimeBudgetSeconds"/> when the caller has none.</param>
    public static JobSettings ForMode(TrainingMode mode, string backbone = "", int inputSize = JobDefaults.ImageSize,
        int autoTimeBudgetSeconds = JobDefaults.AutoTimeBudgetSeconds)
    {
        var kind = Kind(mode);
        if (mode == TrainingMode.Auto)
            return new JobSettings { Backbone = backbone, Mode = mode, UnfreezeStages = 0, LearningRate = JobDefaults.LearningRate(kind),
                Epochs = JobDefaults.Epochs(kind), EarlyStoppingPatience = JobDefaults.FeatureExtractionPatience, Augment = false,
                ImageSize = inputSize, TimeBudgetSeconds = autoTimeBudgetSeconds };
        return mode == TrainingMode.FineTune
            ? new JobSettings { Backbone = backbone, Mode = mode, UnfreezeStages = 1, LearningRate = JobDefaults.LearningRate(kind),
                Epochs = JobDefaults.Epochs(kind), EarlyStoppingPatience = JobDefaults.FineTunePatience, Augment = true,
                Schedule = ScheduleChoice.Cosine, ImageSize = inputSize, HeadFirstEpochs = JobDefaults.HeadFirstEpochs(JobDefaults.Epochs(kind)) }
            : new JobSettings { Backbone = backbone, Mode = mode, UnfreezeStages = 0, LearningRate = JobDefaults.LearningRate(kind),
                Epochs = JobDefaults.Epochs(kind), EarlyStoppingPatience = JobDefaults.FeatureExtractionPatience, Augment = false,
                ImageSize = inputSize };
    }

    /// <summary>Everything wrong with these settings (<see cref="JobRules"/>, the same rules the worker applies), each
    /// with the API field it concerns; empty when they can be launched.</summary>
    /// <param name="backboneStages">Stages of the chosen backbone, when known.</param>
    public IReadOnlyList<JobProblem> Problems(int? backboneStages = null) => JobRules.Check(ToValues(backboneStages));

    /// <summary>Above these learning rates a run of this kind usually diverges or swings (adaptive optimizers: 0.02 — a
    /// fine-tune at 0.05 swung from 80 % to 41 % validation accuracy in a browser walk-through; SGD with momentum: 0.5). Typical values are far lower: 1e-4–1e-2 for Adam on a head, 1e-5–1e-3 for a fine-tuned backbone, 1e-3–0.1
    /// for SGD (fastai's and PyTorch's transfer-learning tutorials).</summary>
    public const double HighAdaptiveLearningRate = 0.02, HighSgdLearningRate = 0.5;

    /// <summary>A warning when the learning rate is far above what such runs use (the worker accepts any positive rate, and a
    /// run this high usually ends diverged); null otherwise and for auto runs, which choose their own.</summary>
    public string? LearningRateWarning()
    {
        if (Mode == TrainingMode.Auto) return null;
        var (limit, optimizer) = Optimizer == OptimizerChoice.SgdMomentum ? (HighSgdLearningRate, "SGD with momentum") : (HighAdaptiveLearningRate, Optimizer.ToString());
        return LearningRate > limit
            ? FormattableString.Invariant($"A learning rate of {LearningRate:0.#####} is unusually high for {optimizer} (above {limit:0.##}); runs this high usually diverge or swing. ") +
              "\"Find learning rate\" measures a good one."
            : null;
    }

    /// <summary>These settings as the shared rules see them: augmentation only when it is on; fractional values rounded to
    /// the 32-bit floats the wire (<see cref="Workers.Gateway.RunSpec"/>) carries, since those are what a worker checks.</summary>
    public JobValues ToValues(int? backboneStages = null) => new()
    {
        Backbone = Backbone,
        Mode = Kind(Mode),
        UnfreezeStages = UnfreezeStages,
        BackboneStages = backboneStages,
        HiddenUnits = HiddenUnits,
        Dropout = Wire(Dropout),
        LearningRate = Wire(LearningRate),
        BackboneLrMultiplier = Wire(BackboneLrMultiplier),
        WeightDecay = Wire(WeightDecay),
        StepSchedule = Schedule == ScheduleChoice.Step,
        StepSize = StepSize,
        Epochs = Epochs,
        BatchSize = BatchSize,
        ImageSize = ImageSize,
        EarlyStoppingPatience = EarlyStoppingPatience,
        Seed = Seed,
        Repeats = Repeats,
        Augmentation = Augment ? Augmentation.ToValues() : null,
        TimeBudgetSeconds = TimeBudgetSeconds,
        ClassWeighting = ClassWeighting,
        ClassWeightBeta = Wire(ClassWeightBeta),
        BalancedSampling = BalancedSampling,
        HeadFirstEpochs = HeadFirstEpochs,
    };

    private static double Wire(double value) => (float)value;

    /// <summary>An independent copy (the augmentation preview edits one and hands it back).</summary>
    public JobSettings Clone()
    {
        var copy = (JobSettings)MemberwiseClone();
        copy.Augmentation = Augmentation with { };
        return copy;
    }

    /// <summary>Takes what the augmentation preview showed — its augmentation, image size and resize mode — and turns
    /// augmentation on (it applies when fine-tuning; the other modes refuse it, as <see cref="Problems"/> says).</summary>
    public void UsePreviewed(JobSettings previewed)
    {
        ArgumentNullException.ThrowIfNull(previewed);
        Augment = true;
        Augmentation = previewed.Augmentation with { };
        ImageSize = previewed.ImageSize;
        CenterCrop = previewed.CenterCrop;
    }

    private static JobModeKind Kind(TrainingMode mode) => mode switch
    {
        TrainingMode.FineTune => JobModeKind.FineTune,
        TrainingMode.Auto => JobModeKind.Auto,
        _ => JobModeKind.FeatureExtraction,
    };

    /// <summary>The mode in words, as lists, comparisons and reports show it.</summary>
    public static string ModeText(TrainingMode mode) => mode switch
    {
        TrainingMode.FineTune => "fine-tune",
        TrainingMode.Auto => "auto",
        _ => "feature extraction",
    };

    /// <summary>The hyperparameters a person compares, in a fixed order (comparison table, reports).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Describe(long seed)
    {
        var c = CultureInfo.InvariantCulture;
        var rows = new List<KeyValuePair<string, string>>
        {
            new("Backbone", Backbone),
            new("Mode", ModeText(Mode)),
        };
        if (Mode == TrainingMode.Auto)
        {
            rows.Add(new("Classifier", "chosen by cross-validation on train + val"));
            rows.Add(new("Time budget", $"{TimeBudgetSeconds.ToString(c)} s"));
            rows.Add(new("Batch size", BatchSize.ToString(c)));
            rows.Add(new("Image size", $"{ImageSize} px{(CenterCrop ? ", centre crop" : "")}"));
            rows.Add(new("Seed", seed.ToString(c)));
            return rows;
        }
        if (Mode == TrainingMode.FineTune)
            rows.Add(new("Unfrozen stages", UnfreezeStages == 0 ? "all" : UnfreezeStages.ToString(c)));
        rows.Add(new("Head", HiddenUnits == 0 ? "linear" : $"{HiddenUnits} hidden, dropout {Dropout.ToString("0.##", c)}"));
        rows.Add(new("Optimizer", Optimizer switch
        {
            OptimizerChoice.SgdMomentum => "SGD with momentum",
            _ => Optimizer.ToString(),
        }));
        rows.Add(new("Learning rate", LearningRate.ToString("0.#####", c)));
        if (Mode == TrainingMode.FineTune) rows.Add(new("Backbone LR ×", BackboneLrMultiplier.ToString("0.###", c)));
        if (Mode == TrainingMode.FineTune && HeadFirstEpochs > 0) rows.Add(new("Head first", $"{HeadFirstEpochs} epoch(s) with the backbone frozen"));
        if (WeightDecay > 0) rows.Add(new("Weight decay", WeightDecay.ToString("0.#####", c)));
        rows.Add(new("Schedule", Schedule == ScheduleChoice.Step ? $"step every {StepSize}" : Schedule.ToString().ToLowerInvariant()));
        rows.Add(new("Epochs", Epochs.ToString(c)));
        rows.Add(new("Batch size", BatchSize.ToString(c)));
        rows.Add(new("Image size", $"{ImageSize} px{(CenterCrop ? ", centre crop" : "")}"));
        rows.Add(new("Augmentation", Augment && Mode == TrainingMode.FineTune ? Augmentation.Describe() : "off"));
        rows.Add(new("Early stopping", EarlyStoppingPatience == 0 ? "off" : $"patience {EarlyStoppingPatience}"));
        if (ClassWeighting != ClassWeightingKind.None)
            rows.Add(new("Class weights", ClassWeighting == ClassWeightingKind.EffectiveNumber
                ? $"effective number (β {ClassWeightBeta.ToString("0.#####", c)})"
                : "inverse frequency"));
        if (BalancedSampling) rows.Add(new("Sampling", "class-balanced"));
        rows.Add(new("Seed", seed.ToString(c)));
        return rows;
    }
}
