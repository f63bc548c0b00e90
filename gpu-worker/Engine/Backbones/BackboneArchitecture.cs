using TorchSharp;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>The shape of an architecture's state_dict (without the classifier) and its parameter count.</summary>
/// <param name="StageWidths">Each stage's output channels, stem first (measured by a forward pass of the probe).</param>
internal sealed record ArchitectureShape(IReadOnlyDictionary<string, long[]> Shapes, IReadOnlyDictionary<string, ScalarType> DTypes, long Parameters,
    IReadOnlyList<int> StageWidths);

/// <summary>A network layout the registry can build: how to construct it (random init from the current torch
/// generator) and what its state_dict looks like.</summary>
internal sealed class BackboneArchitecture
{
    private readonly Func<BackboneDescriptor, Backbone> _build;
    private readonly Lazy<ArchitectureShape> _shape;

    private BackboneArchitecture(string id, string displayName, int featureDim, int stages, string headPrefix,
        Func<BackboneDescriptor, Backbone> build)
    {
        Id = id;
        DisplayName = displayName;
        FeatureDim = featureDim;
        Stages = stages;
        HeadPrefix = headPrefix;
        _build = build;
        _shape = new Lazy<ArchitectureShape>(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The file-name prefix, e.g. "mobilenet_v2".</summary>
    public string Id { get; }
    public string DisplayName { get; }
    public int FeatureDim { get; }
    public int Stages { get; }

    /// <summary>State-dict keys of the replaced classifier ("fc." / "classifier."): ignored in weight files.</summary>
    public string HeadPrefix { get; }

    /// <summary>Expected state_dict keys and shapes; built once per process from a probe model.</summary>
    public ArchitectureShape Shape => _shape.Value;

    /// <summary>The [2,2,2,3] BasicBlock ResNet of the shipped ONNX model.</summary>
    public static readonly BackboneArchitecture ResNet18x3 = new("resnet18x3", "ResNet-18 variant with a 3-block 4th stage",
        ResNetBackbone.FeatureDim, 5, "fc.", d => new ResNetBackbone(d, [2, 2, 2, 3]));

    public static readonly BackboneArchitecture ResNet18 = new("resnet18", "ResNet-18", 512, 5, "fc.",
        d => new TorchVisionResNetBackbone(d, torchvision.models.resnet18(norm_layer: features => new SafeBatchNorm2d(features))));

    public static readonly BackboneArchitecture ResNet34 = new("resnet34", "ResNet-34", 512, 5, "fc.",
        d => new TorchVisionResNetBackbone(d, torchvision.models.resnet34(norm_layer: features => new SafeBatchNorm2d(features))));

    public static readonly BackboneArchitecture ResNet50 = new("resnet50", "ResNet-50", 2048, 5, "fc.",
        d => new TorchVisionResNetBackbone(d, torchvision.models.resnet50(norm_layer: features => new SafeBatchNorm2d(features))));

    public static readonly BackboneArchitecture MobileNetV2 = new("mobilenet_v2", "MobileNetV2", 1280, 7, "classifier.",
        d => new TorchVisionMobileNetV2Backbone(d, torchvision.models.mobilenet_v2(norm_layer: features => new SafeBatchNorm2d(features))));

    /// <summary>The TorchVision architectures a weight file may be for, matched by file-name prefix.</summary>
    public static readonly IReadOnlyList<BackboneArchitecture> WeightFileArchitectures = [MobileNetV2, ResNet50, ResNet18, ResNet34];

    /// <summary>Builds the architecture with random weights drawn from the current torch generator.</summary>
    public Backbone Build(BackboneDescriptor descriptor) => _build(descriptor);

    /// <summary>A descriptor for this architecture with its real parameter count.</summary>
    /// <param name="weightsLicence">The licence the weights are used under, as far as the worker knows it.</param>
    public BackboneDescriptor Describe(string name, string displayName, string weightsSource, bool pretrained,
        Transforms.Normalization normalization, string? error = null, string weightsLicence = "") =>
        new(name, displayName, InputSize: 224, Shape.Parameters, weightsSource, pretrained, FeatureDim, Stages, normalization, error,
            Shape.StageWidths, weightsLicence);

    private ArchitectureShape Probe() => TorchRandom.Exclusive(ProbeNow);

    private ArchitectureShape ProbeNow()
    {
        // Building draws random weights; keep the caller's generator state so that probing (at registry creation)
        // does not change what a seeded Create() produces.
        using var rngState = torch.get_rng_state();
        try
        {
            using var probe = _build(new BackboneDescriptor(Id, DisplayName, 224, 0, "probe", false, FeatureDim, Stages,
                Transforms.Normalization.ImageNet));
            var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
            var dtypes = new Dictionary<string, ScalarType>(StringComparer.Ordinal);
            foreach (var (key, tensor) in probe.state_dict())
            {
                shapes[key] = tensor.shape;
                dtypes[key] = tensor.dtype;
            }
            var parameters = probe.parameters().Sum(p => p.numel());
            var widths = new List<int>();
            probe.eval();
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                var x = torch.zeros(1, 3, 64, 64);
                foreach (var stage in probe.Stages)
                {
                    x = ((nn.Module<Tensor, Tensor>)stage).call(x);
                    widths.Add((int)x.shape[1]);
                }
            }
            return new ArchitectureShape(shapes, dtypes, parameters, widths);
        }
        finally
        {
            torch.set_rng_state(rngState);
        }
    }
}
