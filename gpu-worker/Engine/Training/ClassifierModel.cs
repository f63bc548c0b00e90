using TorchSharp;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

/// <summary>A new classification head sized to the dataset's classes: linear, or hidden layer + ReLU + dropout.
/// Input [N, inputs] features, output [N, classes] logits. Its layers are initialised from torch's global generator
/// (under <see cref="TorchRandom"/>'s lock); its dropout draws from the generator given to <see cref="UseGenerator"/>.</summary>
public sealed class ClassifierHead : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> layers;
    private readonly GeneratorDropout _dropout;

    public ClassifierHead(int inputs, int classes, int hiddenUnits, float dropout) : base(nameof(ClassifierHead))
    {
        _dropout = new GeneratorDropout(dropout);
        layers = TorchRandom.Exclusive(() => hiddenUnits > 0
            ? nn.Sequential(nn.Linear(inputs, hiddenUnits), nn.ReLU(), _dropout, nn.Linear(hiddenUnits, classes))
            : nn.Sequential(_dropout, nn.Linear(inputs, classes)));
        RegisterComponents();
    }

    /// <summary>The generator dropout draws its masks from in train mode: the job's own, so that concurrent jobs do
    /// not share a random stream (null = torch's global generator). The caller keeps ownership.</summary>
    public void UseGenerator(torch.Generator? generator) => _dropout.Generator = generator;

    public override Tensor forward(Tensor features) => layers.forward(features);
}

/// <summary>Inverted dropout (as <c>nn.Dropout</c>: in train mode zero each element with probability p and scale the
/// rest by 1/(1-p); identity in eval mode) whose mask comes from a chosen <see cref="torch.Generator"/>.
/// No parameters or buffers, so state_dict keys are those of <c>nn.Dropout</c>.</summary>
internal sealed class GeneratorDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;

    public GeneratorDropout(double p) : base("Dropout")
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        _p = p;
    }

    public torch.Generator? Generator { get; set; }

    public override Tensor forward(Tensor input)
    {
        if (!training || _p == 0) return input.alias();
        // Owned Scalars, disposed (so kept alive) after the calls that read them: an implicit double → Scalar
        // conversion is left to the finalizer, which a GC may run while libtorch still reads it (see SafeBatchNorm2d).
        using var keep = (1 - _p).ToScalar();
        using var uniform = torch.rand(input.shape, dtype: input.dtype, device: input.device, generator: Generator);
        using var mask = uniform.lt(keep);
        using var kept = input.mul(mask);
        return kept.div(keep);
    }
}

/// <summary>Backbone → head. State-dict keys are "backbone.*" and "head.*".</summary>
public sealed class ClassifierModel : nn.Module<Tensor, Tensor>
{
    private readonly Backbone backbone;
    private readonly ClassifierHead head;

    public ClassifierModel(Backbone backbone, ClassifierHead head) : base(nameof(ClassifierModel))
    {
        this.backbone = backbone;
        this.head = head;
        RegisterComponents();
    }

    public Backbone Backbone => backbone;
    public ClassifierHead Head => head;

    /// <summary>Autopilot models: what is done to the pooled features before the head (null = nothing).</summary>
    public FeaturePreprocessing? FeaturePreprocessing { get; set; }

    /// <summary>Autopilot models: test-time augmentation with the horizontal flip. <see cref="forward"/> then returns
    /// log of the mean of the image's and its flip's softmax probabilities, so softmax(forward(x)) is exactly that mean.</summary>
    public bool TestTimeFlip { get; set; }

    /// <summary>How many of the backbone's last stages are pooled into the head's input (<see cref="Backbone.PooledStages"/>);
    /// 1 = the usual pooled features. Autopilot models may use 2.</summary>
    public int PooledStages { get; set; } = 1;

    /// <summary>Temperature scaling (Guo et al. 2017): T &gt; 0 by which <see cref="Probabilities"/> divides the output
    /// of <see cref="forward"/> before the softmax; 1 = the model's own probabilities. Fitted after training on held-out
    /// logits (<see cref="Contracts.Metrics.TemperatureScaling"/>); <see cref="forward"/> itself (what training
    /// optimises) never uses it.</summary>
    public double Temperature
    {
        get => _temperature;
        set => _temperature = double.IsFinite(value) && value > 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "A temperature must be a positive finite number.");
    }

    private double _temperature = 1;

    /// <summary>Calibrated class probabilities [N, classes] = softmax(forward(images) / <see cref="Temperature"/>): what
    /// Predict, the evaluation, Grad-CAM's explanations and every export give.</summary>
    public Tensor Probabilities(Tensor images)
    {
        using var scores = forward(images);
        return Calibrated(scores);
    }

    /// <summary>The one calibration step: softmax(<paramref name="scores"/> / <see cref="Temperature"/>) [N, classes]
    /// for scores [N, classes] as <see cref="forward"/> or <see cref="Forward"/> returns them. For a caller that already
    /// has the scores (Grad-CAM); <see cref="Probabilities"/> is this over <see cref="forward"/>.</summary>
    public Tensor Calibrated(Tensor scores)
    {
        if (_temperature == 1) return nn.functional.softmax(scores, 1);
        using var t = _temperature.ToScalar();
        using var scaled = scores.div(t);
        return nn.functional.softmax(scaled, 1);
    }

    public override Tensor forward(Tensor images) => Forward(images, null);

    /// <summary><see cref="forward"/> (the scores Predict turns into probabilities, before the temperature: logits, or with
    /// <see cref="TestTimeFlip"/> the log of the mean probabilities), optionally observing the backbone's last stage.</summary>
    /// <param name="images">Normalised images [N,3,S,S].</param>
    /// <param name="lastStageActivations">See <see cref="Backbone.PooledStages"/>: called with the last stage's output of
    /// each pass (with <see cref="TestTimeFlip"/> twice: the image's, then its horizontal flip's).</param>
    /// <returns>[N, classes].</returns>
    public Tensor Forward(Tensor images, Func<Tensor, Tensor>? lastStageActivations)
    {
        if (FeaturePreprocessing is null && !TestTimeFlip && PooledStages == 1 && lastStageActivations is null)
        {
            using var features = backbone.forward(images);
            return head.forward(features);
        }
        using var scope = torch.NewDisposeScope();
        var logits = Logits(images, lastStageActivations);
        if (TestTimeFlip)
            // Flipping the normalised tensor along the width equals normalising the flipped rendering (per-pixel maps).
            logits = MeanOfViews(logits, Logits(images.flip(3), lastStageActivations));
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Probabilities"/> from the backbone's pooled features instead of the images, for a caller that
    /// computed them elsewhere (Predict runs a frozen backbone through ONNX Runtime): the feature preprocessing, the head,
    /// with <see cref="TestTimeFlip"/> the mean of both views' probabilities, then the temperature.</summary>
    /// <param name="features">[N, <see cref="Backbone.PooledDim"/>(<see cref="PooledStages"/>)] of the images.</param>
    /// <param name="mirroredFeatures">The same of the images mirrored along the width; required with <see cref="TestTimeFlip"/>, else ignored.</param>
    /// <returns>[N, classes], within the features' own difference of <see cref="Probabilities"/> of the images.</returns>
    public Tensor ProbabilitiesFromFeatures(Tensor features, Tensor? mirroredFeatures)
    {
        using var scope = torch.NewDisposeScope();
        var scores = HeadLogits(features);
        if (TestTimeFlip)
            scores = MeanOfViews(scores, HeadLogits(mirroredFeatures
                ?? throw new ArgumentNullException(nameof(mirroredFeatures), "A test-time-flip model needs the mirrored images' features.")));
        return Calibrated(scores).MoveToOuterDisposeScope();
    }

    /// <summary>log of the mean of two views' softmax probabilities, so that softmax of it is exactly that mean.</summary>
    private static Tensor MeanOfViews(Tensor logits, Tensor mirroredLogits) =>
        ((nn.functional.softmax(logits, 1) + nn.functional.softmax(mirroredLogits, 1)) / 2).clamp_min(1e-30).log();

    private Tensor Logits(Tensor images, Func<Tensor, Tensor>? lastStageActivations) =>
        HeadLogits(backbone.PooledStages(images, PooledStages, lastStageActivations));

    private Tensor HeadLogits(Tensor features) => head.forward(FeaturePreprocessing is { } pre ? pre.Apply(features) : features);

    /// <summary>Freezes every backbone stage except the last <paramref name="trainableStages"/> (0 = none frozen,
    /// -1 = all frozen). Frozen stages keep BatchNorm in eval mode whenever the model is put in train mode.</summary>
    public void Freeze(int trainableStages)
    {
        var stages = backbone.Stages;
        var firstTrainable = trainableStages switch
        {
            < 0 => stages.Count,
            0 => 0,
            _ => Math.Max(0, stages.Count - trainableStages),
        };
        foreach (var p in backbone.parameters()) p.requires_grad = false;
        for (var i = firstTrainable; i < stages.Count; i++)
            foreach (var p in stages[i].parameters()) p.requires_grad = true;
        _frozenStages = stages.Take(firstTrainable).ToList();
        _backboneFrozen = firstTrainable == stages.Count;
    }

    private List<nn.Module> _frozenStages = [];
    private bool _backboneFrozen;

    /// <summary>Train mode for what trains; eval mode (fixed BatchNorm statistics) for frozen stages.</summary>
    public void TrainMode()
    {
        train();
        if (_backboneFrozen) backbone.eval();
        foreach (var stage in _frozenStages) stage.eval();
    }

    public long TrainableParameters => parameters().Where(p => p.requires_grad).Sum(p => p.numel());
    public long TotalParameters => parameters().Sum(p => p.numel());
}
