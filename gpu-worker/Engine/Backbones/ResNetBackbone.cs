using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// A ResNet of BasicBlocks with torchvision's layout and state_dict names (conv1, bn1, layer1.0.conv1,
/// layer2.0.downsample.0, …): 7×7/64 stride-2 stem and 3×3 max-pool, four layers of 64/128/256/512 channels,
/// stride 2 on the first 3×3 conv of layers 2–4 with a 1×1 stride-2 conv + BatchNorm downsample.
/// <see cref="BlockCounts"/> is configurable ([2,2,2,2] is torchvision's resnet18, [2,2,2,3] the shipped ONNX
/// model). Forward returns globally average-pooled features [N, 512]; there is no classifier.
/// </summary>
/// <remarks>
/// Weights are initialised like torchvision's ResNet (Kaiming-normal fan-out convolutions, BatchNorm 1/0) from
/// the current torch generator: seed it with <c>torch.manual_seed</c> before constructing for reproducibility.
/// </remarks>
public sealed class ResNetBackbone : Backbone
{
    public const int FeatureDim = 512;
    private static readonly int[] Widths = [64, 128, 256, 512];

    [ComponentName(Name = "conv1")] private readonly Conv2d _conv1;
    [ComponentName(Name = "bn1")] private readonly SafeBatchNorm2d _bn1;
    [ComponentName(Name = "relu")] private readonly ReLU _relu;
    [ComponentName(Name = "maxpool")] private readonly MaxPool2d _maxpool;
    [ComponentName(Name = "layer1")] private readonly Sequential _layer1;
    [ComponentName(Name = "layer2")] private readonly Sequential _layer2;
    [ComponentName(Name = "layer3")] private readonly Sequential _layer3;
    [ComponentName(Name = "layer4")] private readonly Sequential _layer4;

    // Not registered (RegisterComponents only picks up Module/Tensor fields): views onto the modules above.
    private readonly nn.Module<Tensor, Tensor>[] _stages;
    private readonly BackboneDescriptor _descriptor;

    /// <param name="descriptor">What the registry offers this backbone as.</param>
    /// <param name="blockCounts">BasicBlocks per layer.</param>
    /// <param name="initialize">false skips torchvision's initialisation (layers keep TorchSharp's defaults) when
    /// every weight is overwritten right after construction anyway.</param>
    public ResNetBackbone(BackboneDescriptor descriptor, IReadOnlyList<int> blockCounts, bool initialize = true) : base(descriptor.Name)
    {
        if (blockCounts.Count != 4 || blockCounts.Any(n => n < 1))
            throw new ArgumentException($"A ResNet needs four positive block counts; got [{string.Join(",", blockCounts)}].", nameof(blockCounts));
        _descriptor = descriptor;
        BlockCounts = [.. blockCounts];

        _conv1 = nn.Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        _bn1 = new SafeBatchNorm2d(64);
        _relu = nn.ReLU(inplace: true);
        _maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        var inChannels = 64L;
        _layer1 = MakeLayer(ref inChannels, Widths[0], blockCounts[0], stride: 1);
        _layer2 = MakeLayer(ref inChannels, Widths[1], blockCounts[1], stride: 2);
        _layer3 = MakeLayer(ref inChannels, Widths[2], blockCounts[2], stride: 2);
        _layer4 = MakeLayer(ref inChannels, Widths[3], blockCounts[3], stride: 2);
        RegisterComponents();

        _stages =
        [
            nn.Sequential(("conv1", _conv1), ("bn1", _bn1), ("relu", _relu), ("maxpool", _maxpool)),
            _layer1, _layer2, _layer3, _layer4,
        ];

        if (!initialize) return;
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    break;
                case SafeBatchNorm2d bn:
                    nn.init.ones_(bn.weight);
                    nn.init.zeros_(bn.bias);
                    break;
            }
        }
    }

    /// <summary>BasicBlocks per layer, e.g. [2,2,2,3].</summary>
    public IReadOnlyList<int> BlockCounts { get; }

    public override BackboneDescriptor Descriptor => _descriptor;

    /// <summary>stem (conv1, bn1, relu, maxpool), layer1, layer2, layer3, layer4.</summary>
    public override IReadOnlyList<nn.Module> Stages => _stages;

    public override Tensor forward(Tensor input)
    {
        var x = _maxpool.call(_relu.call(_bn1.call(_conv1.call(input))));
        x = _layer4.call(_layer3.call(_layer2.call(_layer1.call(x))));
        return nn.functional.adaptive_avg_pool2d(x, [1, 1]).flatten(1);
    }

    private static Sequential MakeLayer(ref long inChannels, long width, int blocks, long stride)
    {
        var layer = nn.Sequential();
        Sequential? downsample = stride != 1 || inChannels != width
            ? nn.Sequential(nn.Conv2d(inChannels, width, kernel_size: 1, stride: stride, bias: false), new SafeBatchNorm2d(width))
            : null;
        layer.append(new BasicBlock(inChannels, width, stride, downsample));
        inChannels = width;
        for (var i = 1; i < blocks; i++)
            layer.append(new BasicBlock(width, width, 1, null));
        return layer;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        // The stem view holds the same (already disposed) modules; disposing twice is a no-op for them.
        if (disposing) _stages[0].Dispose();
    }
}

/// <summary>torchvision's BasicBlock: conv3×3(stride)–BN–ReLU–conv3×3–BN, plus the (downsampled) input, then ReLU.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "conv1")] private readonly Conv2d _conv1;
    [ComponentName(Name = "bn1")] private readonly SafeBatchNorm2d _bn1;
    [ComponentName(Name = "relu")] private readonly ReLU _relu;
    [ComponentName(Name = "conv2")] private readonly Conv2d _conv2;
    [ComponentName(Name = "bn2")] private readonly SafeBatchNorm2d _bn2;
    [ComponentName(Name = "downsample")] private readonly Sequential? _downsample;

    public BasicBlock(long inChannels, long width, long stride, Sequential? downsample) : base(nameof(BasicBlock))
    {
        _conv1 = nn.Conv2d(inChannels, width, kernel_size: 3, stride: stride, padding: 1, bias: false);
        _bn1 = new SafeBatchNorm2d(width);
        _relu = nn.ReLU(inplace: true);
        _conv2 = nn.Conv2d(width, width, kernel_size: 3, stride: 1, padding: 1, bias: false);
        _bn2 = new SafeBatchNorm2d(width);
        _downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = _relu.call(_bn1.call(_conv1.call(input)));
        x = _bn2.call(_conv2.call(x));
        var identity = _downsample is null ? input : _downsample.call(input);
        return _relu.call(x.add_(identity, OwnedScalars.One));
    }
}
