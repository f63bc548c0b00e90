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
    /// <summary>The run's number in its project ("#3" in the pages); <c>id</c> is what URLs use.</summary>
    public int Number { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Starred: listed first in the Runs table.</summary>
    public bool Pinned { get; init; }
    /// <summary>Queued runs: 1 = the next to start; null otherwise.</summary>
    public int? QueuePosition { get; init; }

    internal static ApiJobSummary From(RunSummary r) => new(r.Id, r.DatasetId, r.DatasetName, r.Kind, r.Status, r.IsActive, r.Backbone,
        r.Mode, r.Seed, r.SeedGroup, r.EpochsDone, r.EpochsTotal, Finite(r.Accuracy), Finite(r.MacroF1), Finite(r.BestValAccuracy),
        r.Message, r.CreatedAt, r.FinishedAt, r.EvaluatedSplit)
    {
        Number = r.Number, Name = r.Name, Tags = r.Tags, Pinned = r.Pinned, QueuePosition = r.QueuePosition,
    };

    internal static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

/// <summary>One epoch of the run's current attempt.</summary>
public sealed record ApiEpoch(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds,
    double ImagesPerSecond, bool IsBest);

/// <summary>A run's state as <c>GET /api/v1/jobs/{jobId}</c> reports it: status, progress, outcome and the epochs so
/// far. <see cref="Progress"/> is epochs done / epochs planned (early stopping can end a run before 1); an auto run has no
/// epochs (<c>timeBudgetSeconds</c> bounds it): 0 until it completes, then 1, and <c>leaderboard</c> shows how far it got.
/// <c>evaluatedSplit</c> names the images <c>accuracy</c> and <c>macroF1</c> were measured on: <c>test</c>, <c>val</c>
/// (no test split) or <c>train</c> (no held-out images: optimistic). Metrics that are not finite numbers are null.</summary>
public sealed record ApiJob(int Id, int DatasetId, string DatasetName, int ProjectId, JobKind Kind, JobStatus Status, bool IsActive,
    string Backbone, TrainingMode Mode, long Seed, int Attempt, int EpochsDone, int EpochsTotal, double Progress, double? SecondsLeft,
    string? Message, double? Accuracy, double? MacroF1, double? BestValAccuracy, string DatasetVersion, string? WorkerName, string? Device,
    int TrainImages, int ValImages, int TestImages, bool HasModel, IReadOnlyList<string> ClassNames,
    IReadOnlyDictionary<string, string> Settings, IReadOnlyList<ApiEpoch> Epochs, DateTime CreatedAt, DateTime? FinishedAt,
    string? EvaluatedSplit, int? TimeBudgetSeconds, ApiLeaderboard? Leaderboard, IReadOnlyList<ApiFinding> Findings)
{
    /// <summary>Temperature scaling and the "unknown" threshold (null for ensembles, unfinished runs and runs trained
    /// before calibration existed).</summary>
    public ApiCalibration? Calibration { get; init; }

    /// <summary>The run's number in its project ("#3" in the pages); <c>id</c> is what URLs use.</summary>
    public int Number { get; init; }
    /// <summary>What the team calls the run, its notes, tags and star (PATCH changes them).</summary>
    public string? Name { get; init; }
    public string? Notes { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool Pinned { get; init; }
    /// <summary>Parameters that train (a frozen-backbone probe: the head alone) and in the whole model; 0 before the
    /// worker reported them.</summary>
    public long TrainableParameters { get; init; }
    public long TotalParameters { get; init; }
    /// <summary>Wall-clock seconds of the whole training on the worker (features, epochs, evaluation); null until trained.</summary>
    public double? TrainingSeconds { get; init; }
    /// <summary>Frozen-backbone runs: how their features were obtained; null for fine-tuning and older runs.</summary>
    public ApiFeatureExtraction? FeatureExtraction { get; init; }

    internal static ApiJob From(RunDetails d) => Create(d) with
    {
        Number = d.Run.Number, Name = d.Run.Name, Notes = d.Run.Notes, Tags = d.Run.Tags, Pinned = d.Run.Pinned,
        TrainableParameters = d.Run.TrainableParameters, TotalParameters = d.Run.TotalParameters, TrainingSeconds = ApiJobSummary.Finite(d.Run.TrainingSeconds),
        FeatureExtraction = d.Run.FeatureImagesCached is { } cached && d.Run.FeatureImagesComputed is { } computed
            ? new ApiFeatureExtraction(cached + computed, cached, computed, ApiJobSummary.Finite(d.Run.FeatureExtractionSeconds),
                ApiJobSummary.Finite(d.Run.FeatureImagesPerSecond), ApiJobSummary.Finite(d.Run.HeadSeconds))
            : null,
    };

    private static ApiJob Create(RunDetails d)
    {
        var r = d.Run;
        return new ApiJob(r.Id, r.DatasetId, r.DatasetName, d.ProjectId, r.Kind, r.Status, r.IsActive, r.Backbone, r.Mode, r.Seed,
            d.Attempt, r.EpochsDone, r.EpochsTotal, r.EpochsTotal > 0 ? Math.Min(1, (double)r.EpochsDone / r.EpochsTotal)
                : r.Mode == TrainingMode.Auto && r.Status == JobStatus.Completed ? 1 : 0,
            ApiJobSummary.Finite(d.SecondsLeft), r.Message, ApiJobSummary.Finite(r.Accuracy), ApiJobSummary.Finite(r.MacroF1),
            ApiJobSummary.Finite(r.BestValAccuracy), r.DatasetVersion, r.WorkerName, d.Device, d.TrainImages, d.ValImages, d.TestImages,
            d.HasModel, d.ClassNames, d.Settings.ToDictionary(s => s.Key, s => s.Value),
            [.. d.Epochs.Select(e => new ApiEpoch(e.Epoch, ApiJobSummary.Finite(e.TrainLoss), ApiJobSummary.Finite(e.TrainAccuracy),
                ApiJobSummary.Finite(e.ValLoss), ApiJobSummary.Finite(e.ValAccuracy), e.Seconds, e.ImagesPerSecond, e.IsBest))],
            r.CreatedAt, r.FinishedAt, r.EvaluatedSplit, d.TimeBudgetSeconds, ApiLeaderboard.From(d.Selection),
            [.. r.Findings.Select(f => new ApiFinding(f.Rule, f.Severity, f.Title, f.Evidence, f.Numbers, f.Advice))])
        {
            Calibration = ApiCalibration.From(d.Calibration),
        };
    }
}

/// <summary>A run's calibration (ADR 022). <c>temperature</c> T: probabilities = softmax(logits / T) (temperature scaling,
/// Guo et al. 2017), fitted on <c>fittedOn</c> (<c>validation</c>; <c>out-of-fold</c> for auto runs: the winner's
/// cross-validation predictions of train + val; null: not fitted, T = 1; <c>note</c> says why). <c>eceBefore</c> /
/// <c>eceAfter</c>: expected calibration error (15 equal-width bins, 0–1) of the evaluated split at T = 1 and at T.
/// Predict answers "unknown" when the top probability is below <c>threshold</c> (null: no threshold, always answers),
/// chosen as the lowest confidence whose answered held-out predictions reach <c>targetPrecision</c>; <c>coverage</c> is
/// the share of the <c>heldOut</c> predictions answered at it and <c>precision</c> their share right;
/// <c>thresholdMessage</c> says it in a sentence (or why there is none).</summary>
public sealed record ApiCalibration(double Temperature, string? FittedOn, string? Note, double EceBefore, double EceAfter, int EvaluatedImages,
    double TargetPrecision, double? Threshold, double Coverage, double Precision, int Answered, int HeldOut, string ThresholdMessage)
{
    internal static ApiCalibration? From(CalibrationView? v) => v is null ? null : new(v.Calibration.Temperature, v.Calibration.FittedOn,
        v.Calibration.Note, v.Calibration.Before.Ece, v.Calibration.After.Ece, v.Calibration.After.Count, v.TargetPrecision, v.Rejection.Threshold,
        v.Rejection.Coverage, v.Rejection.Precision, v.Rejection.Answered, v.Rejection.HeldOut, v.Rejection.Message);
}

/// <summary>The body of <c>PUT /api/v1/jobs/{jobId}/calibration</c>: the precision (0.5–0.999) answered predictions
/// should reach on the held-out images.</summary>
public sealed record ApiTargetPrecision(double TargetPrecision);

/// <summary>How a frozen-backbone run got its features: <c>images</c> distinct images, <c>cachedImages</c> read from the
/// worker's feature cache, <c>computedImages</c> run through the backbone, in <c>seconds</c>; <c>imagesPerSecond</c> is
/// the backbone's speed over the computed images (null when all were cached). <c>headSeconds</c>: the rest of the
/// training (head epochs on the features, evaluation), whose epochs' imagesPerSecond measure the head alone.</summary>
public sealed record ApiFeatureExtraction(int Images, int CachedImages, int ComputedImages, double? Seconds, double? ImagesPerSecond, double? HeadSeconds);

/// <summary>The body of <c>PATCH /api/v1/jobs/{jobId}</c>: any of the fields; one left out stays as it is.</summary>
public sealed record ApiJobLabels(string? Name, string? Notes, IReadOnlyList<string>? Tags, bool? Pinned);

/// <summary>One finding of the training doctor about a run, as of this request (computed when the run is read, so it
/// follows the run live): <c>rule</c> is a stable id (<c>diverged</c>, <c>learning-rate-too-high</c>,
/// <c>learning-rate-too-low</c>, <c>overfitting</c>, <c>underfitting</c>, <c>frozen-vs-fine-tuned</c>, <c>few-images</c>,
/// <c>class-imbalance</c>, <c>leakage</c>, <c>upscaled</c>, <c>evaluated-on-training</c>), <c>severity</c> info, warning or
/// error, <c>evidence</c> the numbers that triggered it in a sentence and <c>numbers</c> the same by name (fractions in
/// [0, 1], losses in nats, sizes in pixels), <c>advice</c> what to do. Worst first.</summary>
public sealed record ApiFinding(string Rule, Features.Jobs.Doctor.FindingSeverity Severity, string Title, string Evidence,
    IReadOnlyDictionary<string, double> Numbers, string Advice);

/// <summary>How an auto run chose its classifier: <c>candidates</c> best first, scored by cross-validation on train + val
/// (never test). While the run chooses, <c>final</c> is false, ranks are 0 and the list grows as candidates are scored;
/// once it has chosen, ranks are 1.., <c>winner</c> is the first and <c>winnerReason</c> says why in a sentence.
/// <c>skipped</c>: candidates the time budget left out, each with the reason.</summary>
public sealed record ApiLeaderboard(bool Final, string? Winner, string? WinnerReason, IReadOnlyList<ApiCandidate> Candidates, IReadOnlyList<string> Skipped)
{
    internal static ApiLeaderboard? From(ModelSelection? s) => s is null ? null : new(s.IsFinal, s.Winner, s.WinnerReason,
        [.. s.Leaderboard.Select(c => new ApiCandidate(c.Rank, c.Name, c.Params, c.Metric, ApiJobSummary.Finite(c.CvMean),
            ApiJobSummary.Finite(c.CiLow), ApiJobSummary.Finite(c.CiHigh), ApiJobSummary.Finite(c.MacroF1), c.Folds, c.Seconds))], s.Skipped);
}

/// <summary>One candidate classifier of an auto run: <c>cvMean</c> is the mean over <c>folds</c> of <c>metric</c>
/// (<c>accuracy</c>, or <c>macro_f1</c> when the classes are imbalanced), with its 95 % t-interval <c>ciLow</c>–<c>ciHigh</c>.</summary>
public sealed record ApiCandidate(int Rank, string Name, string Params, string Metric, double? CvMean, double? CiLow, double? CiHigh,
    double? MacroF1, int Folds, double Seconds);

/// <summary>One step of the learning-rate range test: rate, batch loss and smoothed loss (nats).</summary>
public sealed record ApiLearningRateStep(double LearningRate, double Loss, double SmoothedLoss);

/// <summary>A learning-rate range test: the suggested rate (the rate at the smoothed loss's minimum / 10), the minimum's
/// and the steepest descent's rates, a sentence, the seconds it took on which worker, and the curve.</summary>
public sealed record ApiLearningRateCurve(double Suggested, double Minimum, double Steepest, string Explanation, double Seconds, string Worker,
    IReadOnlyList<ApiLearningRateStep> Steps);

/// <summary>Grad-CAM (Selvaraju et al. 2017) of one image: <c>heatmaps</c> in the order the classes were asked, each a PNG
/// (base64) of the image with the heatmap over it, the raw map (row-major <c>mapHeight</c> × <c>mapWidth</c>, ≥ 0, the
/// last convolutional stage's grid) and where it peaks in the image's pixels (<c>imageWidth</c> × <c>imageHeight</c>,
/// after EXIF orientation). <c>layer</c> says which activations were explained.</summary>
public sealed record ApiExplanation(string PredictedClass, int ImageWidth, int ImageHeight, int MapHeight, int MapWidth, int InputSize, string Layer,
    IReadOnlyList<ApiHeatmap> Heatmaps)
{
    internal static ApiExplanation From(Workers.Gateway.ImageExplanation e) => new(e.PredictedClass, e.ImageWidth, e.ImageHeight, e.MapHeight,
        e.MapWidth, e.InputSize, e.Layer, [.. e.Heatmaps.Select(h => new ApiHeatmap(h.ClassName, h.Probability, h.Png, h.Map, h.PeakX, h.PeakY))]);
}

/// <summary>One class's heatmap: the model's calibrated probability for it (softmax(logits / temperature), exactly what
/// predict gives), the overlay PNG (base64), the raw map and its peak.</summary>
public sealed record ApiHeatmap(string ClassName, double Probability, byte[] Png, IReadOnlyList<float> Map, float PeakX, float PeakY);
