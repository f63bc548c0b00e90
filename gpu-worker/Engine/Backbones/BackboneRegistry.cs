namespace TransferHub.Worker.Engine.Backbones;

// OWNED BY THE BACKBONES HELPER: replace the stubs below with the real implementation.

/// <summary>The backbones this worker offers: the shipped pretrained ResNet, TorchVision architectures with
/// weight files from the weights folder, and random-init baselines.</summary>
public sealed class BackboneRegistry
{
    public static BackboneRegistry Create(string weightsFolder, string pretrainedFolder, ILogger logger) => throw new NotImplementedException();

    /// <summary>Every backbone, usable or not (<see cref="BackboneDescriptor.Error"/> says why not).</summary>
    public IReadOnlyList<BackboneDescriptor> Descriptors => throw new NotImplementedException();

    /// <summary>Builds the named backbone on the CPU with its weights loaded.</summary>
    /// <exception cref="UnknownBackboneException">no such backbone</exception>
    /// <exception cref="WeightFileException">its weights file does not fit the architecture</exception>
    public Backbone Create(string name) => throw new NotImplementedException();
}
