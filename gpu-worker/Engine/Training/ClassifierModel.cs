using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

/// <summary>A new classification head sized to the dataset's classes: linear, or hidden layer + ReLU + dropout.</summary>
public sealed class ClassifierHead : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> layers;

    public ClassifierHead(int inputs, int classes, int hiddenUnits, float dropout) : base(nameof(ClassifierHead))
    {
        layers = hiddenUnits > 0
            ? nn.Sequential(nn.Linear(inputs, hiddenUnits), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hiddenUnits, classes))
            : nn.Sequential(nn.Dropout(dropout), nn.Linear(inputs, classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor features) => layers.forward(features);
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

    public override Tensor forward(Tensor images)
    {
        using var features = backbone.forward(images);
        return head.forward(features);
    }

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
