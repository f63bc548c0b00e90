using TransferHub.Contracts.Jobs;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Workers.Gateway;

// The web's own view of what workers say and do. Only this folder sees the generated gRPC types
// (TransferHub.Worker.V1); everything else in the web works with these records (ADR 012).

/// <summary>A backbone a worker offers (or lists as unusable, with <see cref="Error"/>).</summary>
/// <param name="InputSize">Native square input size in pixels.</param>
/// <param name="Stages">How many stages fine-tuning can unfreeze counting back from the head.</param>
/// <param name="WeightsSource">Where its weights come from, as the worker says (e.g. the NuGet package of the ImageNet ResNet).</param>
/// <param name="WeightsLicence">The licence the weights are used under, as the worker knows it ("" from older workers).</param>
public sealed record WorkerBackbone(string Name, string DisplayName, int InputSize, int Stages, long Parameters, bool Pretrained, string? Error,
    string WeightsSource = "", string WeightsLicence = "");

/// <summary>What a worker says about itself (GetInfo).</summary>
/// <param name="DeviceKind">"cpu", "cuda" or "unknown".</param>
/// <param name="Capacity">Runs it takes at once.</param>
/// <param name="FeatureImagesPerSecond">Its latest measured frozen-feature throughput (forward passes/s at 224 px); null
/// until it has measured one since it started.</param>
public sealed record WorkerDescription(string Name, string Version, string DeviceKind, string DeviceName, int Capacity,
    IReadOnlyList<WorkerBackbone> Backbones, double? FeatureImagesPerSecond = null);

/// <summary>An image of a run: content hash, class index (into the run's classes) and split.</summary>
public sealed record TrainingImage(string Sha256, int ClassIndex, DataSplitKind Split);

/// <summary>Everything a worker needs to train a run, in the web's terms; <see cref="RunSpec.Encode"/> turns it into the
/// bytes stored with the run and sent to the worker.</summary>
public sealed record TrainingRequest(JobSettings Settings, long Seed, IReadOnlyList<string> ClassNames, IReadOnlyList<TrainingImage> Images,
    string DatasetVersion);

/// <summary>One class's Grad-CAM heatmap of an image (worker.proto ClassExplanation).</summary>
/// <param name="Png">The image (longer side at most 512 px) with the heatmap blended over it in viridis.</param>
/// <param name="Map">The raw map, row-major <see cref="ImageExplanation.MapHeight"/> × <see cref="ImageExplanation.MapWidth"/>, ≥ 0.</param>
/// <param name="PeakX">Where the map is largest, in the image's pixels after orientation (x right).</param>
/// <param name="PeakY">The same, y down.</param>
public sealed record ClassHeatmap(int ClassIndex, string ClassName, double Probability, byte[] Png, IReadOnlyList<float> Map, float PeakX, float PeakY);

/// <summary>Grad-CAM (Selvaraju et al. 2017) of one image under a run's model, one heatmap per asked class.</summary>
/// <param name="Layer">Which activations were explained, in the worker's words.</param>
/// <param name="CenterCrop">The model crops the centre of images: the heatmaps dim the rest, which it never saw.</param>
public sealed record ImageExplanation(string PredictedClass, int ImageWidth, int ImageHeight, int MapHeight, int MapWidth, int InputSize, string Layer,
    bool CenterCrop, IReadOnlyList<ClassHeatmap> Heatmaps);

/// <summary>How a run ended on its worker without a model.</summary>
public enum RunFailureKind { Internal, Cancelled, InvalidInput, OutOfMemory, Diverged }

/// <summary>One event of a run as its worker streams it; <see cref="Sequence"/> is monotonic per run attempt (0 = not
/// numbered) so replays after a re-attach can be skipped.</summary>
public abstract record RunEvent(long Sequence);

public sealed record RunStarted(long Sequence, string Device, int TrainImages, int ValImages, int TestImages, long TrainableParameters,
    long TotalParameters, int Epochs) : RunEvent(Sequence);

/// <summary>One epoch's metrics; losses and accuracies may be NaN or infinite when the run diverged.</summary>
public sealed record RunEpoch(long Sequence, int Epoch, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy,
    double LearningRate, double Seconds, double ImagesPerSecond, bool IsBest) : RunEvent(Sequence);

public sealed record RunLog(long Sequence, string Level, string Message) : RunEvent(Sequence);

/// <summary>Training and evaluation finished; the model <see cref="ModelId"/> waits on the worker to be copied.
/// <see cref="Selection"/>: an Auto run's final leaderboard, winner and skipped candidates (null for other modes).
/// <see cref="Calibration"/>: the temperature and reliability (null from a worker that predates calibration).</summary>
public sealed record RunTrained(long Sequence, Jobs.RunEvaluation Evaluation, string ModelId, int BestEpoch, bool StoppedEarly,
    double TrainingSeconds, ModelSelection? Selection = null, Jobs.RunCalibration? Calibration = null) : RunEvent(Sequence);

/// <summary>An Auto run scored one candidate classifier by cross-validation (unranked; a candidate scored again after
/// another repetition of the folds replaces its earlier score).</summary>
public sealed record RunCandidate(long Sequence, CandidateResult Candidate) : RunEvent(Sequence);
/// <summary>A frozen-backbone run's features are ready: distinct images, how many came from the worker's cache and how
/// many the backbone computed, and the seconds that took.</summary>
public sealed record RunFeatures(long Sequence, int Images, int Cached, int Computed, double Seconds) : RunEvent(Sequence);

public sealed record RunFailed(long Sequence, RunFailureKind Kind, string Message) : RunEvent(Sequence);

/// <summary>The worker could not be reached, did not answer in time, or the connection broke mid-call: try again later
/// or elsewhere.</summary>
public sealed class WorkerUnavailableException(string workerName, string detail, Exception? inner = null)
    : Exception($"{workerName} could not be reached: {detail}", inner)
{
    public string WorkerName { get; } = workerName;
    public string Detail { get; } = detail;
}

/// <summary>Why a worker said no.</summary>
public enum RefusalKind
{
    /// <summary>The request is invalid (bad settings, an image it cannot read).</summary>
    InvalidInput,
    /// <summary>It does not know the run or model (restarted, another machine).</summary>
    NotFound,
    /// <summary>All its slots are taken.</summary>
    Busy,
    /// <summary>It refused the token.</summary>
    Unauthenticated,
    /// <summary>It cannot do it now (a backbone unusable, images missing).</summary>
    Precondition,
    /// <summary>Anything else it reported.</summary>
    Other,
}

/// <summary>The worker answered with a refusal; <see cref="Detail"/> is its message for a person.</summary>
public sealed class WorkerRefusedException(string workerName, RefusalKind kind, string detail, Exception? inner = null)
    : Exception($"{workerName} refused: {detail}", inner)
{
    public string WorkerName { get; } = workerName;
    public RefusalKind Kind { get; } = kind;
    public string Detail { get; } = detail;
}

/// <summary>One step of a learning-rate range test: the rate, the batch's loss and its smoothed value (nats).</summary>
public sealed record LearningRateStep(double LearningRate, double Loss, double SmoothedLoss);

/// <summary>A learning-rate range test's curve and what it suggests (the rate at the smoothed loss's minimum / 10).</summary>
public sealed record LearningRateCurve(IReadOnlyList<LearningRateStep> Steps, double Suggested, double Minimum, double Steepest,
    string Explanation, double Seconds, string WorkerName);

/// <summary>One image a label-issue search flagged: its content, given and suggested class (indices into the spec's
/// classes), out-of-fold p(given) and p(suggested), and why (likely mislabelled, outlier, or both).</summary>
public sealed record FlaggedImage(string Sha256, int GivenClassIndex, int SuggestedClassIndex, double SelfConfidence, double SuggestedProbability,
    bool LikelyMislabelled, bool Outlier);

/// <summary>What a worker's label-issue search found (confident learning on out-of-fold probabilities), and how.</summary>
public sealed record LabelIssueResult(IReadOnlyList<FlaggedImage> Images, int Folds, double OutOfFoldAccuracy, string Method, double Seconds,
    string WorkerName);

/// <summary>Embeddings a worker computed for near-duplicate search: per content hash a unit vector of <see cref="Dim"/>
/// floats; <see cref="Method"/> says how (equal strings mean comparable vectors); <see cref="Cached"/> of them came from
/// the worker's feature cache.</summary>
public sealed record ImageEmbeddings(IReadOnlyDictionary<string, float[]> Vectors, int Dim, string Method, int Cached, double Seconds, string WorkerName);
