using TorchSharp;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>An auto model whose last stage LP-FT trained (ADR 036) exports that stage: the ONNX graph computes what
/// Predict computes, and what auto mode's evaluation computed from the cached stage inputs.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxLpFtParityTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const int Size = 64;
    private static readonly string[] Classes = ["cat", "cup", "rocket"];

    [Theory]
    [InlineData("logreg-std-ls0.1-C0.1", 2)]
    [InlineData("logreg-l2-C1-last-stage", 2)]
    public void AnLpFtModelsOnnxExportMatchesPredictWithTheTrainedLastStage(string candidate, int pooledStages)
    {
        var backbone = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        using var pretrained = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var metadata = OnnxTestSupport.Metadata(backbone, Classes, Size, ResizeMode.Squash, frozen: false);
        var pipeline = new TransformPipeline(Size, ResizeMode.Squash, AugmentationOptions.None, metadata.Normalization);
        var images = OnnxTestSupport.Images(photos: true, 3, pipeline, seed: 1).Concat(OnnxTestSupport.Images(photos: false, 6, pipeline, seed: 2)).ToList();
        backbone.eval();
        var (plain, flipped) = OnnxTestSupport.Features(backbone, pipeline, images, pooledStages);
        var labels = images.Select((_, i) => i % Classes.Length).ToList();
        var set = new FeatureSet(plain, flipped, labels, Classes.Length, backbone.PooledWidths(pooledStages));
        var probe = Candidate.DefaultGrid(imbalanced: false, pooledStages).Single(c => c.Name == candidate)
            .Fit(set, [.. Enumerable.Range(0, set.Count)], useFlips: true);

        // The last stage's inputs of each image and its flip, as auto mode caches them; then LP-FT trains stage + head.
        var inputs = StageInputs(backbone, pipeline, images, out var shape);
        var weights = LinearProbeFineTune.Train(backbone, probe, inputs, labels, [.. Enumerable.Range(0, images.Count)], shape,
            new LpFtOptions { Epochs = 3, HeadLearningRate = 1e-3 }, seed: 5, torch.CPU, CancellationToken.None);
        var tuned = probe with { Weights = weights };
        var head = TorchRandom.Seeded(3, () => new ClassifierHead(weights.Dim, Classes.Length, 0, 0));
        using var model = new ClassifierModel(backbone, head);
        AutopilotTrainer.LoadHead(model, tuned);
        model.Freeze(-1);
        model.eval();

        var onnx = OnnxTestSupport.Export(model, metadata);
        using var session = OnnxTestSupport.Session(onnx);
        var (torchProbabilities, torchLogits) = OnnxTestSupport.Torch(model, pipeline, images);
        var (onnxProbabilities, onnxLogits) = OnnxTestSupport.Onnx(session, OnnxTestSupport.OnnxInput(images, Size), images.Count, Size);
        var evaluated = LinearProbeFineTune.Predict(backbone, tuned, weights, inputs, [.. Enumerable.Range(0, images.Count)], shape, 4, torch.CPU)
            .SelectMany(p => p).ToArray();
        // The same head on the pretrained stage: what an export that missed the trained stage would give.
        using var stale = new ClassifierModel(pretrained, TorchRandom.Seeded(3, () => new ClassifierHead(weights.Dim, Classes.Length, 0, 0)));
        AutopilotTrainer.LoadHead(stale, tuned);
        stale.eval();
        var (staleProbabilities, _) = OnnxTestSupport.Torch(stale, pipeline, images);

        var delta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, onnxProbabilities);
        var evaluationDelta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, evaluated);
        var staleDelta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, staleProbabilities);
        output.WriteLine($"{candidate}: max |Δp| ONNX vs Predict {delta:E2}; cached-input evaluation vs Predict {evaluationDelta:E2}; pretrained stage vs trained {staleDelta:E2}");
        Assert.True(delta < 1e-5f, $"max |Δ| of probabilities {delta} ≥ 1e-5");
        var logitDelta = OnnxTestSupport.MaxAbsDifference(torchLogits, onnxLogits);
        Assert.True(logitDelta < 1e-4f, $"max |Δ| of logits {logitDelta} ≥ 1e-4 (max |logit| {torchLogits.Max(Math.Abs)})");
        Assert.True(torchProbabilities.Max() - torchProbabilities.Min() > 0.5f, "the test model's probabilities are nearly uniform");
        Assert.True(evaluationDelta < 1e-5f, $"the evaluation from cached stage inputs differs from Predict by {evaluationDelta}");
        Assert.True(staleDelta > 1e-3f, $"LP-FT changed the probabilities by only {staleDelta}: the test could not see a missing stage");
        Assert.Equal("false", session.ModelMetadata.CustomMetadataMap["backbone_frozen"]);
    }

    private static List<(float[] Plain, float[] Flipped)> StageInputs(Backbone backbone, TransformPipeline pipeline, IReadOnlyList<byte[]> images,
        out long[] shape)
    {
        var chw = OnnxTestSupport.Normalized(pipeline, images);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.tensor(chw, [images.Count, 3, Size, Size]);
        torch.Tensor Earlier(torch.Tensor t)
        {
            for (var i = 0; i < backbone.Stages.Count - 1; i++) t = ((torch.nn.Module<torch.Tensor, torch.Tensor>)backbone.Stages[i]).call(t);
            return t.contiguous();
        }
        var plain = Earlier(x);
        var flipped = Earlier(x.flip(3));
        shape = plain.shape[1..];
        var per = (int)(plain.numel() / images.Count);
        var p = plain.data<float>().ToArray();
        var f = flipped.data<float>().ToArray();
        return [.. Enumerable.Range(0, images.Count).Select(i => (p.AsSpan(i * per, per).ToArray(), f.AsSpan(i * per, per).ToArray()))];
    }
}
