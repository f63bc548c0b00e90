using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// TorchVision's ResNet (resnet18/34/50 from the TorchVision assembly) without its classifier: the children
/// conv1 … layer4 are registered under torchvision's names, so this module's state_dict is torchvision's
/// minus fc.*. Forward returns globally average-pooled features [N, 512 or 2048].
/// </summary>
public sealed class TorchVisionResNetBackbone : Backbone
{
    [ComponentName(Name = "conv1")] private readonly nn.Module<Tensor, Tensor> _conv1;
    [ComponentName(Name = "bn1")] private readonly nn.Module<Tensor, Tensor> _bn1;
    [ComponentName(Name = "relu")] private readonly nn.Module<Tensor, Tensor> _relu;
    [ComponentName(Name = "maxpool")] private readonly nn.Module<Tensor, Tensor> _maxpool;
    [ComponentName(Name = "layer1")] private readonly nn.Module<Tensor, Tensor> _layer1;
    [ComponentName(Name = "layer2")] private readonly nn.Module<Tensor, Tensor> _layer2;
    [ComponentName(Name = "layer3")] private readonly nn.Module<Tensor, Tensor> _layer3;
    [ComponentName(Name = "layer4")] private readonly nn.Module<Tensor, Tensor> _layer4;

    private readonly nn.Module<Tensor, Tensor>[] _stages;
    private readonly BackboneDescriptor _descriptor;

    /// <summary>Takes over the children of <paramref name="model"/> (a freshly built torchvision ResNet) and
    /// disposes its classifier.</summary>
    public TorchVisionResNetBackbone(BackboneDescriptor descriptor, TorchSharp.Modules.ResNet model) : base(descriptor.Name)
    {
        _descriptor = descriptor;
        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        _conv1 = Child(children, "conv1");
        _bn1 = Child(children, "bn1");
        _relu = Child(children, "relu");
        _maxpool = Child(children, "maxpool");
        _layer1 = Child(children, "layer1");
        _layer2 = Child(children, "layer2");
        _layer3 = Child(children, "layer3");
        _layer4 = Child(children, "layer4");
        // The classifier and the parameterless pool/flatten are not taken over. The emptied shell itself is left to
        // the finalizer: disposing it would dispose the children now owned here.
        foreach (var name in new[] { "avgpool", "flatten", "fc" })
            if (children.TryGetValue(name, out var unused)) unused.Dispose();
        RegisterComponents();
        _stages =
        [
            nn.Sequential(("conv1", _conv1), ("bn1", _bn1), ("relu", _relu), ("maxpool", _maxpool)),
            _layer1, _layer2, _layer3, _layer4,
        ];
    }

    public override BackboneDescriptor Descriptor => _descriptor;

    /// <summary>stem (conv1, bn1, relu, maxpool), layer1, layer2, layer3, layer4.</summary>
    public override IReadOnlyList<nn.Module> Stages => _stages;

    public override Tensor forward(Tensor input)
    {
        var x = _maxpool.call(_relu.call(_bn1.call(_conv1.call(input))));
        x = _layer4.call(_layer3.call(_layer2.call(_layer1.call(x))));
        return nn.functional.adaptive_avg_pool2d(x, [1, 1]).flatten(1);
    }

    internal static nn.Module<Tensor, Tensor> Child(Dictionary<string, nn.Module> children, string name) =>
        children.TryGetValue(name, out var module) && module is nn.Module<Tensor, Tensor> typed
            ? typed
            : throw new InvalidOperationException($"TorchVision model has no child '{name}'; found {string.Join(", ", children.Keys)}.");

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _stages[0].Dispose();
    }
}

/// <summary>
/// TorchVision's MobileNetV2 without its classifier: the <c>features</c> child is registered under its own name
/// (state_dict = torchvision's minus classifier.*). Forward: features → global average pool → [N, 1280].
/// Stages group the 19 feature blocks by resolution and width: [0–1] stem (112 px at 224 input), [2–3] 56 px,
/// [4–6] 28 px, [7–10] and [11–13] 14 px, [14–16] and [17–18] 7 px (the last holds the 1×1 conv to 1280).
/// </summary>
public sealed class TorchVisionMobileNetV2Backbone : Backbone
{
    internal static readonly int[][] StageBlocks = [[0, 1], [2, 3], [4, 5, 6], [7, 8, 9, 10], [11, 12, 13], [14, 15, 16], [17, 18]];

    [ComponentName(Name = "features")] private readonly nn.Module<Tensor, Tensor> _features;

    private readonly nn.Module<Tensor, Tensor>[] _stages;
    private readonly BackboneDescriptor _descriptor;

    public TorchVisionMobileNetV2Backbone(BackboneDescriptor descriptor, TorchSharp.Modules.MobileNetV2 model) : base(descriptor.Name)
    {
        _descriptor = descriptor;
        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        _features = TorchVisionResNetBackbone.Child(children, "features");
        if (children.TryGetValue("classifier", out var classifier)) classifier.Dispose(); // the shell: see the ResNet wrapper
        RegisterComponents();

        var blocks = _features.named_children().ToList();
        if (blocks.Count != 19)
            throw new InvalidOperationException($"TorchVision MobileNetV2 has {blocks.Count} feature blocks; expected 19.");
        _stages = [.. StageBlocks.Select(group => (nn.Module<Tensor, Tensor>)nn.Sequential(
            group.Select(i => (blocks[i].name, (nn.Module<Tensor, Tensor>)blocks[i].module)).ToArray()))];
    }

    public override BackboneDescriptor Descriptor => _descriptor;

    public override IReadOnlyList<nn.Module> Stages => _stages;

    public override Tensor forward(Tensor input) =>
        nn.functional.adaptive_avg_pool2d(_features.call(input), [1, 1]).flatten(1);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            foreach (var stage in _stages) stage.Dispose();
    }
}
