namespace TransferHub.Worker.Engine.Training;

public sealed record TrainingStarted(string Device, int TrainImages, int ValImages, int TestImages,
    long TrainableParameters, long TotalParameters, int Epochs);

public sealed record EpochResult(int Epoch, float TrainLoss, float TrainAccuracy, float ValLoss, float ValAccuracy,
    float LearningRate, double Seconds, double ImagesPerSecond, bool IsBest);

/// <summary>A frozen-backbone job's features are ready: <paramref name="Images"/> distinct images, of which
/// <paramref name="Cached"/> were read from the feature cache and <paramref name="Computed"/> run through the backbone,
/// in <paramref name="Seconds"/> of wall-clock time.</summary>
public sealed record FeaturesReady(int Images, int Cached, int Computed, double Seconds);

/// <summary>Receives a job's progress as it happens (called on the training thread).</summary>
public interface ITrainingObserver
{
    void Started(TrainingStarted started);
    void Epoch(EpochResult epoch);
    void Log(string level, string message);
    /// <summary>Auto mode: a candidate's cross-validated score (streamed as the leaderboard fills).</summary>
    void Candidate(Autopilot.CandidateScore score) { }
    /// <summary>Frozen-backbone jobs: the features are ready (once, before the first epoch or candidate).</summary>
    void Features(FeaturesReady ready) { }
}

/// <summary>An observer that keeps nothing (a learning-rate range test reports its result, not its progress).</summary>
public sealed class IgnoringObserver : ITrainingObserver
{
    public static readonly IgnoringObserver Instance = new();
    public void Started(TrainingStarted started) { }
    public void Epoch(EpochResult epoch) { }
    public void Log(string level, string message) { }
}

/// <summary>
/// Thrown by <see cref="Trainer.Run"/> when training diverged: a training loss, the validation loss/accuracy or the
/// trained weights became NaN or infinite. The epoch in which it happened has already been reported to the
/// observer (with its non-finite values as they were); no evaluation ran and no model exists.
/// </summary>
public sealed class TrainingDivergedException(int epoch, string message) : Exception(message)
{
    /// <summary>The 1-based epoch in which the non-finite value appeared.</summary>
    public int Epoch { get; } = epoch;
}
