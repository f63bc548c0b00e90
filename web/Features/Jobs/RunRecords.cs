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

    /// <summary>The run's number in its project (<see cref="TrainingJob.Number"/>); <see cref="Id"/> stays in URLs.</summary>
    public int Number { get; init; }
    public int ProjectId { get; init; }
    /// <summary>What the team calls it; null when unnamed.</summary>
    public string? Name { get; init; }
    public string? Notes { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool Pinned { get; init; }

    /// <summary>Frozen-backbone runs: images whose features came from the worker's cache, images whose features were
    /// computed, and the seconds that took; null when not reported (fine-tuning, older runs).</summary>
    public int? FeatureImagesCached { get; init; }
    public int? FeatureImagesComputed { get; init; }
    public double? FeatureExtractionSeconds { get; init; }

    /// <summary>Queued runs: their place in the queue (1 = next); null otherwise.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>"#3": how a run is named in its project.</summary>
    public string Label => $"#{Number}";
    public string Title => Kind == JobKind.Ensemble ? $"Ensemble #{Number}" : $"Run #{Number}";
    /// <summary>"Run #3 · baseline", or the title alone when unnamed.</summary>
    public string DisplayName => Name is null ? Title : $"{Title} · {Name}";

    /// <summary>Seconds spent training after the features were ready (the head epochs and the evaluation), when the worker
    /// reported its feature extraction; else null.</summary>
    public double? HeadSeconds => TrainingSeconds is { } total && FeatureExtractionSeconds is { } features ? Math.Max(0, total - features) : null;

    /// <summary>The backbone's images per second over the images it computed (null when all came from the cache, or not
    /// reported).</summary>
    public double? FeatureImagesPerSecond => FeatureImagesComputed is > 0 && FeatureExtractionSeconds is > 0
        ? FeatureImagesComputed / FeatureExtractionSeconds : null;
    public string ModeText => Kind == JobKind.Ensemble ? "ensemble" : JobSettings.ModeText(Mode);
    public bool IsActive => Status.IsActive();

    /// <summary>Why <see cref="BestValAccuracy"/> is not the accuracy of a model the run kept (a run that diverged, failed,
    /// was cancelled or lost its worker ended without one), or null when it is (or the run is still going).</summary>
    public string? BestValNote => BestValAccuracy is null || Kind == JobKind.Ensemble ? null : Status switch
    {
        JobStatus.Diverged => "The best validation accuracy before the run diverged; it kept no model.",
        JobStatus.Failed => "The best validation accuracy before the run failed; it kept no model.",
        JobStatus.Cancelled => "The best validation accuracy before the run was cancelled; it kept no model.",
        JobStatus.WorkerLost => "The best validation accuracy before the run lost its worker; it kept no model.",
        _ => null,
    };
}

/// <summary>One epoch of a run as pages show it; losses and accuracies are null when not a finite number (or, for
/// validation, when the run has no validation images). <paramref name="LearningRate"/> is the head's learning rate
/// during that epoch (after the schedule).</summary>
public sealed record EpochPoint(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds,
    double ImagesPerSecond, bool IsBest, double LearningRate = 0);

public sealed record LogEntry(DateTime At, string Level, string Message);

/// <summary>A run an ensemble combines (or would combine), with its own scores to set beside the ensemble's:
/// <paramref name="Accuracy"/> and <paramref name="MacroF1"/> on <paramref name="EvaluatedSplit"/> ("test", "val" or
/// "train"; null when not evaluated). <paramref name="Exists"/> false: the member was deleted since (only its id is known).</summary>
public sealed record EnsembleMember(int Id, int Number, string? Name, string Backbone, string ModeText, JobStatus Status, double? Accuracy,
    double? MacroF1, string? EvaluatedSplit, bool Exists = true)
{
    /// <summary>"Run #3".</summary>
    public string Title => Exists ? $"Run #{Number}" : "Run (deleted)";

    public static EnsembleMember Of(TrainingJob job) => new(job.Id, job.Number, job.Name, job.Backbone,
        job.Kind == JobKind.Ensemble ? "ensemble" : JobSettings.ModeText(job.Mode), job.Status, job.Accuracy, job.MacroF1, job.EvaluatedSplit);

    public static EnsembleMember Deleted(int id) => new(id, 0, null, "", "", JobStatus.Completed, null, null, null, Exists: false);
}

/// <summary>What "Ensemble" would make of chosen runs (<c>ComparisonService.PlanEnsembleAsync</c>): the members in order,
/// the number of common images it would be scored on and their split, a name to start from, and why it cannot be made
/// (null when it can).</summary>
public sealed record EnsemblePlan(IReadOnlyList<EnsembleMember> Members, int Images, string? Split, string SuggestedName, string? Problem);

/// <summary>Everything the run page shows.</summary>
public sealed record RunDetails(RunSummary Run, int ProjectId, string ProjectName, string TeamName, bool CanEdit,
    IReadOnlyList<KeyValuePair<string, string>> Settings, int Attempt, string? Device, int TrainImages, int ValImages, int TestImages,
    IReadOnlyList<EpochPoint> Epochs, IReadOnlyList<LogEntry> Log, bool HasModel, IReadOnlyList<string> ClassNames, int? BestEpoch, bool StoppedEarly)
{
    /// <summary>Ensembles: each member run's id → its number in the project.</summary>
    public IReadOnlyDictionary<int, int> MemberNumbers { get; init; } = new Dictionary<int, int>();

    /// <summary>Ensembles: the member runs in the ensemble's order with their own scores (empty for other runs).</summary>
    public IReadOnlyList<EnsembleMember> Members { get; init; } = [];

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


/// <summary>Why a queued run waits: <paramref name="Position"/> in the queue (1 = next) of <paramref name="Queued"/>,
/// a sentence, and each worker offering its backbone.</summary>
public sealed record RunWait(int Position, int Queued, string Reason, IReadOnlyList<WorkerWait> Workers);

/// <summary>A worker that offers the run's backbone: its state in words ("free", "offline", "busy (1 of 1 slot)"…)
/// and the runs it is busy with.</summary>
public sealed record WorkerWait(string Worker, string State, IReadOnlyList<BusyRun> Busy, bool Free);

/// <summary>A run a worker is busy with: <paramref name="Id"/> for a link, null when the caller cannot see it.</summary>
public sealed record BusyRun(int? Id, string Label);
