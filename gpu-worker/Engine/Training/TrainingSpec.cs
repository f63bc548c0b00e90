using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Training;

/// <summary>Auto: frozen backbone, cached features of each image and its flip, classifiers on them chosen by
/// cross-validation within <see cref="TrainingSpec.TimeBudgetSeconds"/> (see <c>Engine/Autopilot</c>).</summary>
public enum TrainingMode { FeatureExtraction, FineTune, Auto }

public enum OptimizerKind { Adam, AdamW, SgdMomentum }

public enum LrSchedule { Constant, Cosine, Step }

public enum DataSplit { Train, Val, Test }

public sealed record DatasetEntry(string Sha256, int ClassIndex, DataSplit Split);

/// <summary>A validated training job, independent of the wire format.</summary>
public sealed record TrainingSpec
{
    public required string JobId { get; init; }
    public required IReadOnlyList<DatasetEntry> Items { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public required string Backbone { get; init; }
    public TrainingMode Mode { get; init; } = TrainingMode.FeatureExtraction;
    /// <summary>Fine-tune: how many trailing backbone stages train (0 = all).</summary>
    public int UnfreezeStages { get; init; }
    /// <summary>0 = linear head; otherwise one hidden layer (ReLU + dropout).</summary>
    public int HiddenUnits { get; init; }
    public float Dropout { get; init; }
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public float LearningRate { get; init; } = 1e-3f;
    public float BackboneLrMultiplier { get; init; } = 0.1f;
    public float WeightDecay { get; init; }
    public float Momentum { get; init; } = 0.9f;
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    public int StepSize { get; init; } = 10;
    public float StepGamma { get; init; } = 0.1f;
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 32;
    public int ImageSize { get; init; } = 224;
    public ResizeMode Resize { get; init; } = ResizeMode.Squash;
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.None;
    /// <summary>Stop after this many epochs without validation improvement; 0 = never.</summary>
    public int EarlyStoppingPatience { get; init; }
    public long Seed { get; init; }
    public string DatasetVersion { get; init; } = "";
    /// <summary>Auto mode: wall-clock budget of the whole job in seconds.</summary>
    public int TimeBudgetSeconds { get; init; } = 60;
    /// <summary>Manual modes: how the training loss weighs each class (<see cref="Contracts.Jobs.ClassWeights"/>).</summary>
    public Contracts.Jobs.ClassWeightingKind ClassWeighting { get; init; }
    /// <summary>β of <see cref="Contracts.Jobs.ClassWeightingKind.EffectiveNumber"/>.</summary>
    public double ClassWeightBeta { get; init; } = Contracts.Jobs.JobDefaults.ClassWeightBeta;
    /// <summary>Manual modes: epochs draw training images class-balanced (<see cref="ClassBalancedSampler"/>).</summary>
    public bool BalancedSampling { get; init; }
    /// <summary>Fine-tune: the first epochs train only the head, then <see cref="UnfreezeStages"/> unfreeze (0 = off).</summary>
    public int HeadFirstEpochs { get; init; }
    /// <summary>Auto mode: the optional LP-FT stage (ADR 036); not on the wire, so jobs from the web use the defaults.</summary>
    public Autopilot.LpFtOptions LpFt { get; init; } = new();
    /// <summary>Auto mode: how the winner is picked from the cross-validated scores. Not on the wire: jobs always use
    /// the default; the benchmark sets <see cref="Autopilot.SelectionRule.HighestMean"/> to measure the rule it replaced.</summary>
    public Autopilot.SelectionRule AutoSelection { get; init; } = Autopilot.SelectionRule.BeatTheDefault;

    /// <summary>The learning-rate factor of a 0-based epoch under <see cref="Schedule"/>.</summary>
    public double LrFactor(int epochIndex) => Schedule switch
    {
        LrSchedule.Cosine => 0.5 * (1 + Math.Cos(Math.PI * epochIndex / Epochs)),
        LrSchedule.Step => Math.Pow(StepGamma, epochIndex / Math.Max(1, StepSize)),
        _ => 1.0,
    };
}
