using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Api;

/// <summary>The body of <c>POST /api/v1/projects/{projectId}/datasets</c>.</summary>
public sealed record NewDataset
{
    public required string Name { get; init; }
}

/// <summary>The runs one launch queued (one per seed when <c>repeats</c> &gt; 1) and what their numbers will mean
/// (classes without validation or test images, evaluation on training images).</summary>
public sealed record LaunchedJobs(IReadOnlyList<int> Ids, IReadOnlyList<string> Warnings);

/// <summary>A run in a list. Metrics that are not finite numbers are null.</summary>
public sealed record ApiJobSummary(int Id, int DatasetId, string DatasetName, JobKind Kind, JobStatus Status, bool IsActive,
    string Backbone, TrainingMode Mode, long Seed, string? SeedGroup, int EpochsDone, int EpochsTotal, double? Accuracy, double? MacroF1,
    double? BestValAccuracy, string? Message, DateTime CreatedAt, DateTime? FinishedAt, string? EvaluatedSplit)
{
    internal static ApiJobSummary From(RunSummary r) => new(r.Id, r.DatasetId, r.DatasetName, r.Kind, r.Status, r.IsActive, r.Backbone,
        r.Mode, r.Seed, r.SeedGroup, r.EpochsDone, r.EpochsTotal, Finite(r.Accuracy), Finite(r.MacroF1), Finite(r.BestValAccuracy),
        r.Message, r.CreatedAt, r.FinishedAt, r.EvaluatedSplit);

    internal static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

/// <summary>One epoch of the run's current attempt.</summary>
public sealed record ApiEpoch(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds,
    double ImagesPerSecond, bool IsBest);

/// <summary>A run's state as <c>GET /api/v1/jobs/{jobId}</c> reports it: status, progress, outcome and the epochs so
/// far. <see cref="Progress"/> is epochs done / epochs planned (early stopping can end a run before 1).
/// <c>evaluatedSplit</c> names the images <c>accuracy</c> and <c>macroF1</c> were measured on: <c>test</c>, <c>val</c>
/// (no test split) or <c>train</c> (no held-out images: optimistic). Metrics that are not finite numbers are null.</summary>
public sealed record ApiJob(int Id, int DatasetId, string DatasetName, int ProjectId, JobKind Kind, JobStatus Status, bool IsActive,
    string Backbone, TrainingMode Mode, long Seed, int Attempt, int EpochsDone, int EpochsTotal, double Progress, double? SecondsLeft,
    string? Message, double? Accuracy, double? MacroF1, double? BestValAccuracy, string DatasetVersion, string? WorkerName, string? Device,
    int TrainImages, int ValImages, int TestImages, bool HasModel, IReadOnlyList<string> ClassNames,
    IReadOnlyDictionary<string, string> Settings, IReadOnlyList<ApiEpoch> Epochs, DateTime CreatedAt, DateTime? FinishedAt,
    string? EvaluatedSplit)
{
    internal static ApiJob From(RunDetails d)
    {
        var r = d.Run;
        return new ApiJob(r.Id, r.DatasetId, r.DatasetName, d.ProjectId, r.Kind, r.Status, r.IsActive, r.Backbone, r.Mode, r.Seed,
            d.Attempt, r.EpochsDone, r.EpochsTotal, r.EpochsTotal > 0 ? Math.Min(1, (double)r.EpochsDone / r.EpochsTotal) : 0,
            ApiJobSummary.Finite(d.SecondsLeft), r.Message, ApiJobSummary.Finite(r.Accuracy), ApiJobSummary.Finite(r.MacroF1),
            ApiJobSummary.Finite(r.BestValAccuracy), r.DatasetVersion, r.WorkerName, d.Device, d.TrainImages, d.ValImages, d.TestImages,
            d.HasModel, d.ClassNames, d.Settings.ToDictionary(s => s.Key, s => s.Value),
            [.. d.Epochs.Select(e => new ApiEpoch(e.Epoch, ApiJobSummary.Finite(e.TrainLoss), ApiJobSummary.Finite(e.TrainAccuracy),
                ApiJobSummary.Finite(e.ValLoss), ApiJobSummary.Finite(e.ValAccuracy), e.Seconds, e.ImagesPerSecond, e.IsBest))],
            r.CreatedAt, r.FinishedAt, r.EvaluatedSplit);
    }
}
