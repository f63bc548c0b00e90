using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using TransferHub.Contracts.Metrics;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>When auto mode tries the LP-FT stage.</summary>
public enum LpFtPolicy
{
    /// <summary>Only when its measured cost estimate fits the job's time budget (after the features and a quarter of the
    /// budget kept for choosing the probe) and its cached stage inputs fit <see cref="LpFtOptions.MaxInputBytes"/>.</summary>
    WhenBudgetAllows,
    /// <summary>Never (reported as skipped).</summary>
    Off,
    /// <summary>Always, whatever the budget (tests and benchmarks).</summary>
    Always,
}

/// <summary>The LP-FT stage's settings (ADR 036).</summary>
public sealed record LpFtOptions
{
    public LpFtPolicy Policy { get; init; } = LpFtPolicy.WhenBudgetAllows;
    /// <summary>Passes over the training images (each image and its flip are two rows).</summary>
    public int Epochs { get; init; } = 5;
    /// <summary>Adam learning rate of the linear head, which starts at the probe's optimum.</summary>
    public double HeadLearningRate { get; init; } = 3e-4;
    /// <summary>The last stage's learning rate as a fraction of the head's (Kumar et al. 2022 fine-tune the body more
    /// gently than a fresh head; the product's fine-tune default uses the same 0.1).</summary>
    public double StageLrMultiplier { get; init; } = 0.1;
    public int BatchSize { get; init; } = 32;
    /// <summary>At most this many bytes of cached last-stage inputs (both views of every image) are held in memory.</summary>
    public long MaxInputBytes { get; init; } = 1L << 30;
}

/// <summary>What the LP-FT stage would cost, measured on random inputs of the job's shape before anything is decoded.</summary>
/// <param name="InputShape">[C, h, w] of the last stage's input (the previous stage's output).</param>
public sealed record LpFtEstimate(double Seconds, double InputSeconds, double TrainSeconds, long InputBytes, long[] InputShape,
    double SecondsPerTrainingRow);

/// <summary>The LP-FT stage's outcome, on one held-out fold of train + val.</summary>
public sealed record LpFtResult(bool Kept, double ProbeScore, double TunedScore, int HeldOutImages, string Metric, double Seconds, string Reason,
    string Params)
{
    /// <summary>The LP-FT model's TTA probabilities of the held-out fold's images (pool index, probabilities), for the temperature.</summary>
    public IReadOnlyList<(int Image, float[] Probabilities)> HeldOut { get; init; } = [];
    /// <summary>The LP-FT model's accuracy and macro-F1 on the held-out fold.</summary>
    public double Accuracy { get; init; }
    public double MacroF1 { get; init; }
}

/// <summary>
/// LP-FT (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution"):
/// linear probe, then fine-tune. Auto mode's chosen linear classifier (its feature preprocessing and linear layer) is
/// the starting head; the backbone's last stage and the head then train together with Adam, the stage at
/// <see cref="LpFtOptions.StageLrMultiplier"/> × the head's learning rate, on the cross-entropy the probe minimised
/// (its label smoothing and class weights). The earlier stages stay frozen, so the last stage's INPUT of every image and
/// of its horizontal flip is computed once and kept in memory ([C, h, w] per view: 256×14×14 floats, 200 KB, for the
/// ResNet at 224 px); each training step runs only the last stage and the head — no decoding, no earlier stages. The
/// last stage's BatchNorm keeps its pretrained running statistics (eval mode), as a frozen backbone's does, so the
/// features move only as far as the weights do. Memory: one dispose scope per batch.
/// </summary>
public static class LinearProbeFineTune
{
    /// <summary>Leaderboard names of LP-FT rows: this prefix + the probe's candidate name.</summary>
    public const string NamePrefix = "lp-ft:";

    /// <summary>Measures one forward pass of the earlier stages and one training step of the last stage + head on random
    /// inputs of the job's shape and extrapolates: input pass = images × 2 views (+15 % for decoding); training =
    /// (held-out run's training part + refit on train + val) × 2 views × epochs rows; evaluation = (held-out + test) × 2
    /// views at a third of a training row's cost.</summary>
    /// <param name="backbone">Frozen, eval mode, on <paramref name="device"/>; its weights are not changed.</param>
    public static LpFtEstimate Estimate(Backbone backbone, int pooledStages, int classes, int size, int allImages, int poolImages, int heldOutImages,
        LpFtOptions options, Device device)
    {
        var stages = backbone.Stages;
        var last = (nn.Module<Tensor, Tensor>)stages[^1];
        long[] shape;
        double perImage;
        using (torch.no_grad())
        {
            using var scope = torch.NewDisposeScope();
            Tensor Earlier(int n)
            {
                var x = torch.zeros([n, 3, size, size], device: device);
                for (var i = 0; i < stages.Count - 1; i++) x = ((nn.Module<Tensor, Tensor>)stages[i]).call(x);
                return x;
            }
            Earlier(1); // warm-up (allocations, kernels)
            var clock = Stopwatch.StartNew();
            const int probe = 4;
            var maps = Earlier(probe);
            perImage = clock.Elapsed.TotalSeconds / probe;
            shape = maps.shape[1..];
        }

        var batch = Math.Max(1, Math.Min(options.BatchSize, poolImages * 2));
        var dim = backbone.PooledDim(pooledStages);
        var parameters = last.parameters().ToList();
        var before = parameters.Select(p => p.requires_grad).ToList();
        double perRow;
        try
        {
            foreach (var p in parameters) p.requires_grad = true;
            using var weight = torch.zeros([classes, dim], device: device).requires_grad_(true);
            double Step(int n)
            {
                using var scope = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                var x = torch.randn([n, .. shape], device: device);
                var logits = torch.nn.functional.linear(Pooled(last, x, pooledStages), weight);
                var loss = nn.functional.cross_entropy(logits, torch.zeros([n], ScalarType.Int64, device: device));
                loss.backward();
                var seconds = clock.Elapsed.TotalSeconds;
                foreach (var p in parameters) p.grad?.zero_();
                return seconds;
            }
            Step(Math.Min(2, batch)); // warm-up
            perRow = Step(batch) / batch * 1.1; // + the optimizer step
        }
        finally
        {
            for (var i = 0; i < parameters.Count; i++) parameters[i].requires_grad = before[i];
            foreach (var p in parameters) if (p.grad is { } g) { g.Dispose(); }
        }
        var inputSeconds = perImage * allImages * 2 * 1.15;
        var trainRows = (double)(poolImages - heldOutImages + poolImages) * 2 * options.Epochs;
        var evalRows = (double)(heldOutImages + Math.Max(0, allImages - poolImages)) * 2;
        var trainSeconds = trainRows * perRow + evalRows * perRow / 3;
        var bytes = (long)allImages * 2 * shape.Aggregate(1L, (a, b) => a * b) * sizeof(float);
        return new LpFtEstimate(inputSeconds + trainSeconds, inputSeconds, trainSeconds, bytes, shape, perRow);
    }

    /// <summary>The last stage's input of every distinct image of <paramref name="items"/> and of its horizontal flip
    /// (keyed by SHA-256), from the frozen earlier stages (TorchSharp, one dispose scope per batch).</summary>
    public static Dictionary<string, (float[] Plain, float[] Flipped)> StageInputs(Backbone backbone, ImageStore images, TransformPipeline pipeline,
        IReadOnlyList<DatasetEntry> items, int batchSize, Device device, CancellationToken cancellationToken)
    {
        var stages = backbone.Stages;
        var distinct = items.DistinctBy(i => i.Sha256).ToList();
        var result = new Dictionary<string, (float[], float[])>();
        using var source = new BatchSource(images, pipeline);
        var size = pipeline.Size;
        using var noGrad = torch.no_grad();
        foreach (var batch in source.Batches(distinct, Enumerable.Range(0, distinct.Count).ToArray(), batchSize, null, 0, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var input = torch.tensor(batch.Pixels, [batch.Count, 3, size, size]).to(device);
            Tensor Earlier(Tensor x)
            {
                for (var i = 0; i < stages.Count - 1; i++) x = ((nn.Module<Tensor, Tensor>)stages[i]).call(x);
                return x.cpu().contiguous();
            }
            var plain = Earlier(input).data<float>().ToArray();
            var flipped = Earlier(input.flip(3)).data<float>().ToArray();
            var per = plain.Length / batch.Count;
            for (var j = 0; j < batch.Count; j++)
                result[distinct[batch.ItemIndices[j]].Sha256] = (plain.AsSpan(j * per, per).ToArray(), flipped.AsSpan(j * per, per).ToArray());
        }
        return result;
    }

    /// <summary>Trains the backbone's last stage and a linear head initialised from <paramref name="probe"/> on the rows
    /// of <paramref name="images"/> (each image's plain and flipped input). The stage's weights change in place; the
    /// returned linear weights replace the probe's. The stage's parameters are frozen again afterwards.</summary>
    /// <param name="inputs">Per image (in <paramref name="images"/>' indexing): both views' last-stage inputs, [C·h·w] each.</param>
    /// <param name="shape">[C, h, w].</param>
    public static LinearWeights Train(Backbone backbone, FittedClassifier probe, IReadOnlyList<(float[] Plain, float[] Flipped)> inputs,
        IReadOnlyList<int> labels, IReadOnlyList<int> images, long[] shape, LpFtOptions options, long seed, Device device,
        CancellationToken cancellationToken)
    {
        var stage = (nn.Module<Tensor, Tensor>)backbone.Stages[^1];
        var stageParameters = stage.parameters().ToList();
        var classes = probe.Weights.Classes;
        var pooledStages = probe.Candidate.PooledStages;
        using var weight = new Parameter(torch.tensor(probe.Weights.Weight, [classes, probe.Weights.Dim]).to(device));
        using var bias = new Parameter(torch.tensor(probe.Weights.Bias).to(device));
        Tensor? classWeight = null;
        if (probe.Candidate.ClassBalanced)
        {
            var counts = new int[classes];
            foreach (var i in images) counts[labels[i]]++;
            classWeight = torch.tensor(Contracts.Jobs.ClassWeights.InverseFrequency(counts).Select(w => (float)w).ToArray()).to(device);
        }
        try
        {
            foreach (var p in stageParameters) p.requires_grad = true;
            stage.eval(); // pretrained BatchNorm statistics stay (see the class comment)
            using var optimizer = new OwnedScalarAdam(
                [
                    new Adam.ParamGroup([weight, bias], lr: options.HeadLearningRate),
                    new Adam.ParamGroup(stageParameters, lr: options.HeadLearningRate * options.StageLrMultiplier),
                ], options.HeadLearningRate, 0);
            // Rows: (image, view); view 1 = the flip.
            var rows = images.SelectMany(i => new[] { (Image: i, View: 0), (Image: i, View: 1) }).ToArray();
            var width = (int)shape.Aggregate(1L, (a, b) => a * b);
            var random = new Random(unchecked((int)seed) ^ 0x4c5046);
            for (var epoch = 0; epoch < options.Epochs; epoch++)
            {
                random.Shuffle(rows);
                for (var start = 0; start < rows.Length; start += options.BatchSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    var count = Math.Min(options.BatchSize, rows.Length - start);
                    var data = new float[count * width];
                    var y = new long[count];
                    for (var j = 0; j < count; j++)
                    {
                        var (image, view) = rows[start + j];
                        (view == 0 ? inputs[image].Plain : inputs[image].Flipped).CopyTo(data, j * width);
                        y[j] = labels[image];
                    }
                    var x = torch.tensor(data, [count, .. shape]).to(device);
                    var logits = torch.nn.functional.linear(probe.Preprocessing.Apply(Pooled(stage, x, pooledStages)), weight, bias);
                    var loss = nn.functional.cross_entropy(logits, torch.tensor(y).to(device), weight: classWeight,
                        label_smoothing: probe.Candidate.LabelSmoothing);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            using var cpuWeight = weight.detach().cpu();
            using var cpuBias = bias.detach().cpu();
            return probe.Weights with { Weight = cpuWeight.data<float>().ToArray(), Bias = cpuBias.data<float>().ToArray() };
        }
        finally
        {
            foreach (var p in stageParameters) p.requires_grad = false;
            classWeight?.Dispose();
        }
    }

    /// <summary>Class probabilities of each of <paramref name="images"/> with test-time augmentation (the mean of the image's
    /// and its flip's softmax), through the backbone's current last stage, the probe's preprocessing and <paramref name="weights"/>
    /// — what <see cref="ClassifierModel.Probabilities"/> gives before the temperature.</summary>
    public static List<float[]> Predict(Backbone backbone, FittedClassifier probe, LinearWeights weights, IReadOnlyList<(float[] Plain, float[] Flipped)> inputs,
        IReadOnlyList<int> images, long[] shape, int batchSize, Device device)
    {
        var stage = (nn.Module<Tensor, Tensor>)backbone.Stages[^1];
        stage.eval();
        var width = (int)shape.Aggregate(1L, (a, b) => a * b);
        var result = new List<float[]>(images.Count);
        using var noGrad = torch.no_grad();
        using var w = torch.tensor(weights.Weight, [weights.Classes, weights.Dim]).to(device);
        using var b = torch.tensor(weights.Bias).to(device);
        for (var start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(batchSize, images.Count - start);
            Tensor Probabilities(bool flipped)
            {
                var data = new float[count * width];
                for (var j = 0; j < count; j++)
                    (flipped ? inputs[images[start + j]].Flipped : inputs[images[start + j]].Plain).CopyTo(data, j * width);
                var x = torch.tensor(data, [count, .. shape]).to(device);
                return nn.functional.softmax(torch.nn.functional.linear(probe.Preprocessing.Apply(Pooled(stage, x, probe.Candidate.PooledStages)), w, b), 1);
            }
            var mean = ((Probabilities(false) + Probabilities(true)) / 2).cpu().data<float>().ToArray();
            var classes = weights.Classes;
            for (var j = 0; j < count; j++) result.Add(mean.AsSpan(j * classes, classes).ToArray());
        }
        return result;
    }

    /// <summary>The selection's score of predictions: accuracy, or macro-F1 for <paramref name="metric"/> "macro_f1".</summary>
    public static double Score(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> trueClasses, int classes, string metric)
    {
        var metrics = ClassificationMetrics.ForRun(trueClasses, [.. probabilities.Select(p => ClassificationReport.ArgMax(p))], classes);
        return metric == "macro_f1" ? metrics.Macro.F1 : metrics.Accuracy;
    }

    /// <summary>Copies of the last stage's parameters and buffers, to undo the held-out run.</summary>
    public static Dictionary<string, Tensor> Snapshot(Backbone backbone)
    {
        using var noGrad = torch.no_grad();
        return backbone.Stages[^1].state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    /// <summary>Puts <paramref name="snapshot"/> back into the last stage and disposes it.</summary>
    public static void Restore(Backbone backbone, Dictionary<string, Tensor> snapshot)
    {
        using var noGrad = torch.no_grad();
        foreach (var (key, value) in backbone.Stages[^1].state_dict()) value.copy_(snapshot[key]);
        foreach (var t in snapshot.Values) t.Dispose();
    }

    /// <summary>[N, PooledDim] from the last stage's input: with 2 pooled stages, the input pooled (the previous stage's
    /// output) then the last stage's output pooled, as <see cref="Backbone.PooledStages"/> concatenates them.</summary>
    private static Tensor Pooled(nn.Module<Tensor, Tensor> lastStage, Tensor input, int pooledStages)
    {
        var output = lastStage.call(input).mean([2, 3]);
        return pooledStages switch
        {
            1 => output,
            2 => torch.cat([input.mean([2, 3]), output], 1),
            _ => throw new NotSupportedException($"LP-FT trains the last stage from its cached input: it cannot pool {pooledStages} stages."),
        };
    }

    internal static string Seconds(double s) => s.ToString("F1", CultureInfo.InvariantCulture);
}
