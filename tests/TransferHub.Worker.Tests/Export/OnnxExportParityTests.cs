using Microsoft.ML.OnnxRuntime;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>The exported ONNX model computes what the TorchSharp model computes, for every architecture the worker
/// trains, on random pixels and on real photos, at batch 1 and 4, with ONNX Runtime's full graph optimisation.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxExportParityTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const float ProbabilityTolerance = 1e-5f;
    private const float LogitTolerance = 1e-4f;
    private static readonly string[] Classes = ["cat", "cup", "person", "rocket", "tree"];

    [Theory]
    [InlineData("resnet18x3", 1, false, ResizeMode.Squash, 0)]
    [InlineData("resnet18x3", 4, true, ResizeMode.CenterCrop, 0)]
    [InlineData("resnet18", 1, true, ResizeMode.Squash, 0)]
    [InlineData("resnet18", 4, false, ResizeMode.Squash, 32)]
    [InlineData("resnet34", 1, false, ResizeMode.CenterCrop, 0)]
    [InlineData("resnet34", 4, true, ResizeMode.Squash, 0)]
    [InlineData("resnet50", 1, true, ResizeMode.Squash, 0)]
    [InlineData("resnet50", 4, false, ResizeMode.Squash, 0)]
    [InlineData("mobilenet_v2", 1, false, ResizeMode.Squash, 16)]
    [InlineData("mobilenet_v2", 4, true, ResizeMode.CenterCrop, 0)]
    public void ExportedModelMatchesTorchSharpOnEveryArchitecture(string architecture, int batch, bool photos, ResizeMode resize, int hiddenUnits)
    {
        const int size = 64;
        // resnet18x3 is the shipped ImageNet model (BGR mean-subtraction preprocessing); the others are random init.
        var backbone = architecture == "resnet18x3"
            ? fixture.Registry.Create(BackboneRegistry.PretrainedName)
            : OnnxTestSupport.RandomBackbone(architecture, seed: 7);
        using var model = OnnxTestSupport.Classifier(backbone, Classes.Length, hiddenUnits, seed: 11);
        var metadata = OnnxTestSupport.Metadata(backbone, Classes, size, resize, hiddenUnits);
        var pipeline = new TransformPipeline(size, resize, AugmentationOptions.None, metadata.Normalization);

        var images = OnnxTestSupport.Images(photos, batch, pipeline, seed: batch);
        OnnxTestSupport.ScaleLogits(model, pipeline, images, target: 10f);
        var onnx = OnnxTestSupport.Export(model, metadata);
        using var session = OnnxTestSupport.Session(onnx);
        var (torchProbabilities, torchLogits) = OnnxTestSupport.Torch(model, pipeline, images);
        var (onnxProbabilities, onnxLogits) = OnnxTestSupport.Onnx(session, OnnxTestSupport.OnnxInput(images, size), batch, size);

        var probabilityDelta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, onnxProbabilities);
        var logitDelta = OnnxTestSupport.MaxAbsDifference(torchLogits, onnxLogits);
        output.WriteLine($"{architecture} batch {batch} {(photos ? "photos" : "random")} {resize}: max |Δp| = {probabilityDelta:E2}, " +
                         $"max |Δlogit| = {logitDelta:E2}, max |logit| = {torchLogits.Max(Math.Abs):F3}, {onnx.Length / 1e6:F1} MB");
        Assert.Equal(batch * Classes.Length, onnxProbabilities.Length);
        Assert.True(probabilityDelta < ProbabilityTolerance, $"max |Δ| of probabilities {probabilityDelta} ≥ {ProbabilityTolerance}");
        Assert.True(logitDelta < LogitTolerance, $"max |Δ| of logits {logitDelta} ≥ {LogitTolerance}");
        // A confident model, not a near-uniform one: the probabilities spread over most of 0..1.
        Assert.True(torchProbabilities.Max() - torchProbabilities.Min() > 0.5f, "the test model's probabilities are nearly uniform");
    }

    [Fact]
    public void ExportedModelDeclaresOpset17ADynamicBatchAndItsMetadata()
    {
        using var model = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 3), Classes.Length, 0, seed: 4);
        var metadata = OnnxTestSupport.Metadata(model.Backbone, Classes, 32, ResizeMode.CenterCrop);
        var onnx = OnnxTestSupport.Export(model, metadata, new Dictionary<string, string> { ["accuracy"] = "0.875", ["evaluated_split"] = "test" });

        var proto = ModelProto.Parser.ParseFrom(onnx);
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Dropout");

        using var session = OnnxTestSupport.Session(onnx);
        Assert.Equal([-1, 3, 32, 32], session.InputMetadata[OnnxExporter.InputName].Dimensions);
        Assert.Equal([-1, Classes.Length], session.OutputMetadata[OnnxExporter.ProbabilitiesName].Dimensions);
        var props = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("[\"cat\",\"cup\",\"person\",\"rocket\",\"tree\"]", props["class_names"]);
        Assert.Equal("center_crop", props["resize_mode"]);
        Assert.Equal("32", props["image_size"]);
        Assert.Equal("resnet18-random", props["backbone"]);
        Assert.Equal("random initialisation (test)", props["weights_source"]);
        Assert.Equal("dsv-123", props["dataset_version"]);
        Assert.Equal("1", props["temperature"]);
        Assert.False(string.IsNullOrEmpty(props["transferhub_version"]));
        Assert.Equal("0.875", props["accuracy"]);
        Assert.Equal("test", props["evaluated_split"]);
        output.WriteLine(string.Join("\n", props.Select(kv => $"{kv.Key} = {kv.Value}")));

        // Batch 3 runs too (the batch is symbolic), and each row of probabilities sums to 1.
        var (probabilities, _) = OnnxTestSupport.Onnx(session, new float[3 * 3 * 32 * 32], 3, 32);
        for (var row = 0; row < 3; row++)
            Assert.Equal(1f, probabilities.Skip(row * Classes.Length).Take(Classes.Length).Sum(), 5);
    }

    [Fact]
    public void CallerMetadataMayNotOverrideWhatTheExporterWrites()
    {
        using var model = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 3), 2, 0, seed: 4);
        var metadata = OnnxTestSupport.Metadata(model.Backbone, ["a", "b"], 32, ResizeMode.Squash);
        var error = Assert.Throws<ArgumentException>(() =>
            OnnxExporter.Build(model, metadata, new Dictionary<string, string> { ["class_names"] = "[\"x\"]" }));
        Assert.Contains("'class_names'", error.Message);
    }
}
