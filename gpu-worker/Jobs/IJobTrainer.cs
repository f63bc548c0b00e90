using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;

namespace TransferHub.Worker.Jobs;

/// <summary>Runs one job's training on the calling thread (the <see cref="JobRunner"/>'s dedicated one). The worker
/// uses <see cref="TorchJobTrainer"/>; tests substitute one that fails in a chosen way.</summary>
public interface IJobTrainer
{
    TrainingOutcome Run(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken);
}

/// <summary>The real engine: a <see cref="Trainer"/> on the worker's device.</summary>
public sealed class TorchJobTrainer(BackboneRegistry backbones, ImageStore images, FeatureCache featureCache, TorchRuntime runtime) : IJobTrainer
{
    public TrainingOutcome Run(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken) =>
        new Trainer(backbones, images, featureCache, runtime.Device).Run(spec, observer, cancellationToken);
}
