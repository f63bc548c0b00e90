namespace TransferHub.Worker.Engine.Training;

public sealed record TrainingStarted(string Device, int TrainImages, int ValImages, int TestImages,
    long TrainableParameters, long TotalParameters, int Epochs);

public sealed record EpochResult(int Epoch, float TrainLoss, float TrainAccuracy, float ValLoss, float ValAccuracy,
    float LearningRate, double Seconds, double ImagesPerSecond, bool IsBest);

/// <summary>Receives a job's progress as it happens (called on the training thread).</summary>
public interface ITrainingObserver
{
    void Started(TrainingStarted started);
    void Epoch(EpochResult epoch);
    void Log(string level, string message);
}
