using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A run in lists and comparisons.</summary>
public sealed record RunSummary(int Id, int DatasetId, string DatasetName, JobKind Kind, JobStatus Status, string Backbone, TrainingMode Mode,
    long Seed, string? SeedGroup, string DatasetVersion, int EpochsDone, int EpochsTotal, double? Accuracy, double? MacroF1,
    double? BestValAccuracy, double? LastValAccuracy, double? TrainingSeconds, long TotalParameters, long TrainableParameters,
    string? WorkerName, string? Message, DateTime CreatedAt, DateTime? FinishedAt, string? EnsembleOf, string? EvaluatedSplit)
{
    /// <summary>The run had no held-out images: its accuracy was measured on the images it trained on.</summary>
    public bool EvaluatedOnTraining => EvaluatedSplit == "train";

    /// <summary>Which images the accuracy was measured on, in words ("test images", "training images — optimistic").</summary>
    public string EvaluatedOn => EvaluatedSplit switch
    {
        "test" => "test images",
        "val" => "validation images (no test split)",
        "train" => "training images — optimistic (no held-out images)",
        _ => "",
    };

    /// <summary>What the training doctor finds about the run now (<see cref="Doctor.TrainingDoctor"/>), worst first;
    /// computed when the run is read, never stored.</summary>
    public IReadOnlyList<Doctor.Finding> Findings { get; init; } = [];

    public string Title => Kind == JobKind.Ensemble ? $"Ensemble #{Id}" : $"Run #{Id}";
    public string ModeText => Kind == JobKind.Ensemble ? "ensemble" : JobSettings.ModeText(Mode);
    public bool IsActive => Status.IsActive();
}

/// <summary>One epoch of a run as pages show it; losses and accuracies are null when not a finite number (or, for
/// validation, when the run has no validation images). <paramref name="LearningRate"/> is the head's learning rate
/// during that epoch (after the schedule).</summary>
public sealed record EpochPoint(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds,
    double ImagesPerSecond, bool IsBest, double LearningRate = 0);

public sealed record LogEntry(DateTime At, string Level, string Message);

/// <summary>Everything the run page shows.</summary>
public sealed record RunDetails(RunSummary Run, int ProjectId, string ProjectName, string TeamName, bool CanEdit,
    IReadOnlyList<KeyValuePair<string, string>> Settings, int Attempt, string? Device, int TrainImages, int ValImages, int TestImages,
    IReadOnlyList<EpochPoint> Epochs, IReadOnlyList<LogEntry> Log, bool HasModel, IReadOnlyList<string> ClassNames, int? BestEpoch, bool StoppedEarly)
{
    /// <summary>Auto runs: the time budget in seconds (null for other modes).</summary>
    public int? TimeBudgetSeconds { get; init; }

    /// <summary>Auto runs: the leaderboard so far (live while choosing), then the final ranking with the winner; null
    /// for other modes and before the first candidate is scored.</summary>
    public ModelSelection? Selection { get; init; }

    /// <summary>The temperature, reliability and "unknown" threshold (null for ensembles, unfinished runs and runs trained
    /// before calibration existed).</summary>
    public CalibrationView? Calibration { get; init; }

    /// <summary>The x axis of the curves: the planned epochs while running, the epochs actually run once finished.</summary>
    public int ChartEpochs => Run.IsActive ? Run.EpochsTotal : Math.Max(1, Run.EpochsDone);

    /// <summary>Seconds left at the pace of the epochs so far (null before the first epoch). The first epoch pays for
    /// what later ones reuse (feature extraction, warm-up), so once there are later epochs only they set the pace.</summary>
    public double? SecondsLeft => Epochs.Count == 0 || !Run.IsActive ? null
        : (Epochs.Count == 1 ? Epochs[0].Seconds : Epochs.Skip(1).Average(e => e.Seconds)) * Math.Max(0, Run.EpochsTotal - Run.EpochsDone);
}

