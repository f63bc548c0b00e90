using System.Text.Json;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>issue 12 §1: an ensemble exports as ONE ONNX graph whose probabilities are the mean of its members'
/// probabilities as Predict computes them, whatever each member's backbone, normalisation, preprocessing and flip.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxEnsembleParityTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const float ProbabilityTolerance = 1e-5f;
    private const int Size = 64;
    private static readonly string[] Classes = ["cat", "cup", "rocket"];

    [Theory]
    [InlineData(1, ResizeMode.Squash)]
    [InlineData(4, ResizeMode.CenterCrop)]
    public void AnEnsemblesOnnxProbabilitiesAreTheMeanOfItsMembersPredictProbabilities(int batch, ResizeMode resize)
    {
        // Member 0: auto mode on the shipped ResNet (standardised features, flip). Member 1: feature extraction on the same
        // frozen backbone (its weights are stored once). Member 2: another architecture, another normalisation, hidden layer.
        var pretrained = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var pipeline = new TransformPipeline(Size, resize, AugmentationOptions.None, pretrained.Descriptor.Normalization);
        var images = OnnxTestSupport.Images(photos: true, 3, pipeline, seed: 1).Concat(OnnxTestSupport.Images(photos: false, 6, pipeline, seed: 2)).ToList();
        var members = new List<(ClassifierModel Model, ModelMetadata Metadata)>();
        try
        {
            var auto = OnnxTestSupport.AutoStyle(pretrained, Classes.Length, "logreg-std-C1", pipeline, images, seed: 3);
            members.Add((auto, OnnxTestSupport.Metadata(pretrained, Classes, Size, resize, frozen: true, modelId: "auto-model") with { Mode = "Auto" }));
            var frozen = OnnxTestSupport.Classifier(fixture.Registry.Create(BackboneRegistry.PretrainedName), Classes.Length, 0, seed: 4);
            OnnxTestSupport.ScaleLogits(frozen, pipeline, images, target: 8f);
            members.Add((frozen, OnnxTestSupport.Metadata(frozen.Backbone, Classes, Size, resize, frozen: true, modelId: "frozen-model")));
            var other = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("mobilenet_v2", seed: 6), Classes.Length, 16, seed: 7);
            var otherPipeline = new TransformPipeline(Size, resize, AugmentationOptions.None, other.Backbone.Descriptor.Normalization);
            OnnxTestSupport.ScaleLogits(other, otherPipeline, images, target: 10f);
            members.Add((other, OnnxTestSupport.Metadata(other.Backbone, Classes, Size, resize, hiddenUnits: 16, modelId: "mobile-model")));

            var proto = OnnxExporter.BuildEnsemble("ensemble-7", members, new Dictionary<string, string> { ["run_id"] = "7" });
            var onnx = Google.Protobuf.MessageExtensions.ToByteArray(proto);
            using var session = OnnxTestSupport.Session(onnx);
            var compared = images.Skip(2).Take(batch).ToList();
            var (onnxProbabilities, onnxLogits) = OnnxTestSupport.Onnx(session, OnnxTestSupport.OnnxInput(compared, Size), batch, Size);

            // Each member as Predict runs it (its own normalisation), then the mean, as the web scores an ensemble.
            var each = members.Select(m => OnnxTestSupport.Torch(m.Model,
                new TransformPipeline(Size, resize, AugmentationOptions.None, m.Metadata.Normalization), compared).Probabilities).ToList();
            var mean = new float[each[0].Length];
            foreach (var p in each)
                for (var i = 0; i < mean.Length; i++) mean[i] += p[i] / each.Count;
            var delta = OnnxTestSupport.MaxAbsDifference(mean, onnxProbabilities);
            var logDelta = OnnxTestSupport.MaxAbsDifference([.. mean.Select(p => MathF.Log(Math.Max(p, 1e-30f)))], onnxLogits);
            var spread = each.Skip(1).Max(p => OnnxTestSupport.MaxAbsDifference(each[0], p));
            output.WriteLine($"batch {batch} {resize}: max |Δp| ensemble ONNX vs mean of members' Predict = {delta:E2}, max |Δ log p| = {logDelta:E2}; " +
                             $"members differ by up to {spread:F3}; {onnx.Length / 1e6:F1} MB, {proto.Graph.Initializer.Count} initializers");
            Assert.True(delta < ProbabilityTolerance, $"max |Δ| of probabilities {delta} ≥ {ProbabilityTolerance}");
            Assert.True(logDelta < 1e-4, $"max |Δ| of log probabilities {logDelta}");
            Assert.True(spread > 0.1, "the members agree so closely that a wrong average would not show");

            // The two members on the shipped backbone share its weights: stored once, under member 0's names.
            Assert.DoesNotContain(proto.Graph.Initializer, i => i.Name.StartsWith("member1.backbone.", StringComparison.Ordinal));
            Assert.Contains(proto.Graph.Initializer, i => i.Name.StartsWith("member2.backbone.", StringComparison.Ordinal));

            var props = session.ModelMetadata.CustomMetadataMap;
            Assert.Equal("[\"cat\",\"cup\",\"rocket\"]", props["class_names"]);
            Assert.Equal(resize == ResizeMode.Squash ? "squash" : "center_crop", props["resize_mode"]);
            Assert.Equal("64", props["image_size"]);
            Assert.Equal("Ensemble", props["mode"]);
            Assert.Equal("ensemble-7", props["model_id"]);
            Assert.Equal("7", props["run_id"]);
            Assert.Equal($"{pretrained.Descriptor.Name} + mobilenet_v2-random", props["backbone"]);
            Assert.Equal("per member (see ensemble_members)", props["normalization"]);
            Assert.Equal("per member (see ensemble_members)", props["test_time_augmentation"]);
            using var listed = JsonDocument.Parse(props["ensemble_members"]);
            Assert.Equal(["auto-model", "frozen-model", "mobile-model"], listed.RootElement.EnumerateArray().Select(m => m.GetProperty("model_id").GetString()));
            Assert.StartsWith("hflip", listed.RootElement[0].GetProperty("test_time_augmentation").GetString());
            Assert.Equal("Auto", listed.RootElement[0].GetProperty("mode").GetString());
            Assert.Equal("none", listed.RootElement[1].GetProperty("feature_preprocessing").GetString());
        }
        finally
        {
            foreach (var (model, _) in members) model.Dispose();
        }
    }

    [Fact]
    public void MembersThatCannotShareOneInputAreRefusedWithEveryDifference()
    {
        using var a = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 1), 2, 0, seed: 2);
        using var b = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 3), 2, 0, seed: 4);
        var error = Assert.Throws<ArgumentException>(() => OnnxExporter.BuildEnsemble("e", [
            (a, OnnxTestSupport.Metadata(a.Backbone, ["x", "y"], 32, ResizeMode.Squash, modelId: "a")),
            (b, OnnxTestSupport.Metadata(b.Backbone, ["y", "x"], 48, ResizeMode.CenterCrop, modelId: "b")),
        ]));
        output.WriteLine(error.Message);
        Assert.Contains("'b' has classes [y, x] where 'a' has [x, y]", error.Message);
        Assert.Contains("'b' takes 48 px images where 'a' takes 32 px", error.Message);
        Assert.Contains("'b' resizes by center_crop where 'a' uses squash", error.Message);
    }

    [Fact]
    public void AnEnsembleRequestNeedsTwoToSixteenDistinctWellFormedMembers()
    {
        var one = Assert.Throws<ArgumentException>(() => OnnxExporter.CheckEnsembleRequest("e", ["a"]));
        Assert.Contains("2 to 16 members, not 1", one.Message);
        var bad = Assert.Throws<ArgumentException>(() => OnnxExporter.CheckEnsembleRequest("no spaces", ["a", "a", "../b"]));
        Assert.Contains("'../b' is not a model id", bad.Message);
        Assert.Contains("'a' repeated", bad.Message);
        Assert.Contains("ensemble_id", bad.Message);
        OnnxExporter.CheckEnsembleRequest("e", [.. Enumerable.Range(0, 16).Select(i => $"m{i}")]);
        Assert.Throws<ArgumentException>(() => OnnxExporter.CheckEnsembleRequest("e", [.. Enumerable.Range(0, 17).Select(i => $"m{i}")]));
    }
}
