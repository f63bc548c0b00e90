namespace TransferHub.Web.Data;

/// <summary>Where a run stands. Active: <see cref="Queued"/>, <see cref="Starting"/>, <see cref="Running"/> and
/// <see cref="Finishing"/> (trained and evaluated; its model is being copied into the web's storage — a run is
/// <see cref="Completed"/> only once its model is stored). Ended: the rest. <see cref="Diverged"/>: the loss became NaN or
/// infinite and the worker stopped it (every epoch up to then is kept).</summary>
public enum JobStatus { Queued, Starting, Running, Completed, Failed, Cancelled, WorkerLost, Finishing, Diverged }

public static class JobStatusExtensions
{
    /// <summary>Whether the scheduler still owns the run (queued, being started, training, or copying its model).</summary>
    public static bool IsActive(this JobStatus status) => status is JobStatus.Queued or JobStatus.Starting or JobStatus.Running or JobStatus.Finishing;
}

public enum JobKind { Training, Ensemble }

/// <summary>How a run trains: a head on the frozen backbone's cached features, fine-tuning, or <see cref="Auto"/>: the
/// frozen backbone with a classifier chosen by cross-validation within <see cref="TrainingJob.TimeBudgetSeconds"/>.</summary>
public enum TrainingMode { FeatureExtraction, FineTune, Auto }

/// <summary>A training run of a dataset (or an ensemble of finished runs). The row is the system of record: the
/// worker only ever holds a copy of <see cref="Spec"/> and reports events, which are persisted as they arrive.</summary>
public class TrainingJob
{
    public const int MessageMaxLength = 2000;
    public const int NameMaxLength = 100;
    public const int NotesMaxLength = 2000;
    /// <summary>Stored length of <see cref="TagsJson"/>: <c>RunLabels.MaxTags</c> tags of <c>RunLabels.TagMaxLength</c>
    /// characters with their JSON quoting fit.</summary>
    public const int TagsJsonMaxLength = 1000;
    public const int LeaseOwnerMaxLength = 200;

    /// <summary>The global id: in URLs and the API.</summary>
    public int Id { get; set; }
    public int DatasetId { get; set; }

    /// <summary>The project of <see cref="Dataset"/> (datasets never move between projects), copied here so
    /// <see cref="Number"/> can be unique per project.</summary>
    public int ProjectId { get; set; }

    /// <summary>The run's number within its project, 1, 2, 3… in launch order, shown as "#3" wherever a run is named
    /// (the id stays in URLs and the API). Assigned when the row is first saved
    /// (<see cref="TransferHubDbContext.SaveChangesAsync(bool, CancellationToken)"/>); unique per project; never reused.</summary>
    public int Number { get; set; }

    /// <summary>What the team calls the run (trimmed, at most <see cref="NameMaxLength"/> characters, unique in its
    /// project ignoring case); null when unnamed.</summary>
    public string? Name { get; set; }
    /// <summary>Free-text notes (at most <see cref="NotesMaxLength"/> characters); null when none.</summary>
    public string? Notes { get; set; }
    /// <summary>Tags as a JSON array of strings (<c>Features.Jobs.RunLabels</c> says what a tag may be); null when none.</summary>
    public string? TagsJson { get; set; }
    /// <summary>Starred: listed first in the Runs table's default order, and filterable.</summary>
    public bool Pinned { get; set; }
    public JobKind Kind { get; set; }
    public JobStatus Status { get; set; }

    /// <summary>Display-level settings (<c>Features.Jobs.JobSettings</c> as JSON), also shown in comparisons and reports.</summary>
    public required string SettingsJson { get; set; }
    public required string Backbone { get; set; }
    public TrainingMode Mode { get; set; }
    public long Seed { get; set; }

    /// <summary>Runs launched together by "repeat with N seeds" share a group, shown as mean ± std.</summary>
    public string? SeedGroup { get; set; }

    /// <summary>The protobuf <c>JobSpec</c> exactly as sent to the worker (images, labels, splits, settings), minus the
    /// job id. Re-queueing sends the same bytes, so a retry trains on the data the user launched, not today's.</summary>
    public byte[]? Spec { get; set; }
    /// <summary>Class names in model-output order, as JSON.</summary>
    public required string ClassNamesJson { get; set; }

    /// <summary>JSON object: SHA-256 → original file name of every image the run was launched with, recorded at launch,
    /// so the run's reports and thumbnails keep them after images are deleted from the dataset (the content-addressed
    /// store keeps the bytes). Null for ensembles and for runs launched before it existed.</summary>
    public string? ImageNamesJson { get; set; }
    public required string DatasetVersion { get; set; }
    public int ImageCount { get; set; }

    /// <summary>JSON: what the run's images were at launch (<c>Features.Jobs.Doctor.RunDataFacts</c>: images per class and
    /// split, image sizes, near-duplicates across splits), which the training doctor reads. Null for ensembles and runs
    /// launched before it existed.</summary>
    public string? DataFactsJson { get; set; }

    public string? CreatedByUserId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }

    /// <summary>1 for the first try; each re-queue starts a new attempt with fresh metrics.</summary>
    public int Attempt { get; set; }
    /// <summary>The id the worker knows this attempt by.</summary>
    public string? WorkerJobId { get; set; }
    public int? WorkerId { get; set; }
    public string? WorkerName { get; set; }
    public bool CancelRequested { get; set; }
    public int AutoRetriesLeft { get; set; }
    /// <summary>The web instance (<c>Features.Jobs.WebInstance.Id</c>: machine name, process id and a random part) that
    /// follows this run: it dispatched it or took it over. Set with <see cref="LeaseExpiresAt"/> by one atomic conditional
    /// UPDATE (ADR 034); null when no instance holds it (queued, ended, or handed back when its instance stopped).</summary>
    public string? LeaseOwner { get; set; }
    /// <summary>Until when (UTC) <see cref="LeaseOwner"/> holds the run; renewed while it follows the run. Once past, any
    /// instance may take the run over (re-attach through WatchJob, or copy its model).</summary>
    public DateTime? LeaseExpiresAt { get; set; }
    /// <summary>The sequence number of the last worker event persisted for this attempt; replays skip what is older.</summary>
    public long LastEventSequence { get; set; }
    /// <summary>Why it failed, was lost or was cancelled, in words for the user.</summary>
    public string? Message { get; set; }

    public string? Device { get; set; }
    public int EpochsTotal { get; set; }
    public int EpochsDone { get; set; }
    public int TrainImages { get; set; }
    public int ValImages { get; set; }
    public int TestImages { get; set; }
    public long TrainableParameters { get; set; }
    public long TotalParameters { get; set; }

    public string? EvaluatedSplit { get; set; }
    public double? Accuracy { get; set; }
    public double? MacroF1 { get; set; }
    public double? Loss { get; set; }
    public int? BestEpoch { get; set; }
    public bool StoppedEarly { get; set; }
    public double? TrainingSeconds { get; set; }

    /// <summary>Frozen-backbone runs (feature extraction, auto): images whose features came from the worker's cache,
    /// images whose features the backbone computed, and the seconds the extraction took (cache reads included), as the
    /// worker reported them; null when it did not (fine-tuning, runs stored before it existed).</summary>
    public int? FeatureImagesCached { get; set; }
    public int? FeatureImagesComputed { get; set; }
    public double? FeatureExtractionSeconds { get; set; }
    /// <summary><c>Features.Jobs.RunEvaluation</c> as JSON: per-class metrics, confusion matrix, per-image predictions.</summary>
    public string? EvaluationJson { get; set; }

    /// <summary>Auto runs: the wall-clock budget the worker had for the whole run, in seconds; null for other modes.</summary>
    public int? TimeBudgetSeconds { get; set; }
    /// <summary>Auto runs: <c>Features.Jobs.ModelSelection</c> as JSON (the leaderboard of the current attempt, filled in
    /// as candidates are scored, then the final ranking with the winner); null before the first candidate is scored.</summary>
    public string? LeaderboardJson { get; set; }

    /// <summary><c>Features.Jobs.RunCalibration</c> as JSON: the temperature the worker fitted (ADR 022), the evaluated
    /// split's reliability before and after it, and the held-out images' calibrated confidences the "unknown" threshold
    /// is chosen on. Null for ensembles and for runs trained before calibration existed.</summary>
    public string? CalibrationJson { get; set; }
    /// <summary>The precision (0.5–0.999) the run's answered predictions should reach on held-out data; null = the default
    /// (<c>RejectionThreshold.DefaultTargetPrecision</c>). Set on the evaluation page or through the API.</summary>
    public double? TargetPrecision { get; set; }
    /// <summary>Predict answers "unknown" when the top class's probability is below this (0–1); null = no threshold
    /// (always answers). Chosen from <see cref="CalibrationJson"/>'s held-out confidences for <see cref="TargetPrecision"/>
    /// whenever either changes, and only then.</summary>
    public double? RejectionThreshold { get; set; }

    /// <summary>The worker's model id; the artifact itself is copied into the web's storage.</summary>
    public string? ModelId { get; set; }
    public long? ModelBytes { get; set; }

    /// <summary>For ensembles: the member run ids, comma-separated.</summary>
    public string? EnsembleOf { get; set; }

    public Dataset? Dataset { get; set; }
    public List<JobEpoch> Epochs { get; set; } = [];
    public List<JobLogLine> Logs { get; set; } = [];

    public bool IsActive => Status.IsActive();
    public bool IsFinished => !IsActive;
}

/// <summary>One epoch's metrics of one attempt of a job. A loss or accuracy that was not a finite number (the run
/// diverged) is stored as null; validation values are also null when the run has no validation images.</summary>
public class JobEpoch
{
    public long Id { get; set; }
    public int JobId { get; set; }
    public int Attempt { get; set; }
    public int Epoch { get; set; }
    public double? TrainLoss { get; set; }
    public double? TrainAccuracy { get; set; }
    public double? ValLoss { get; set; }
    public double? ValAccuracy { get; set; }
    public double LearningRate { get; set; }
    public double Seconds { get; set; }
    public double ImagesPerSecond { get; set; }
    public bool IsBest { get; set; }
    public DateTime At { get; set; }
}

/// <summary>A log line a worker sent (or the scheduler wrote) for a job.</summary>
public class JobLogLine
{
    public const int MessageMaxLength = 2000;

    public long Id { get; set; }
    public int JobId { get; set; }
    public int Attempt { get; set; }
    public DateTime At { get; set; }
    public required string Level { get; set; }
    public required string Message { get; set; }
}
