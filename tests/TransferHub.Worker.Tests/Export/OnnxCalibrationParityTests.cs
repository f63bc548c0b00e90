using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TransferHub.Contracts.Metrics;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>Temperature scaling (ADR 022) in Predict, the model file and the ONNX export: Predict gives
/// softmax(logits / T); the exported graph divides its logits by the same T before the softmax and states it.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxCalibrationParityTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const float ProbabilityTolerance = 1e-5f;
    private const float LogitTolerance = 1e-4f;
    private const int Size = 64;
    private static readonly string[] Classes = ["cat", "cup", "person", "rocket"];

    /// <summary>T above 1 (softening an overconfident model) and below, on a plain model and on an auto-style one with
    /// the flip (whose logits are log of the mean of both views' probabilities).</summary>
    [Theory]
    [InlineData("resnet18", 2.7, false)]
    [InlineData("resnet18", 0.4, false)]
    [InlineData("resnet18x3", 1.9, true)]
    public void ACalibratedModelsOnnxProbabilitiesDivideItsLogitsByTheTemperatureAsPredictDoes(string architecture, double temperature, bool autoStyle)
    {
        var backbone = architecture == "resnet18x3"
            ? fixture.Registry.Create(BackboneRegistry.PretrainedName)
            : OnnxTestSupport.RandomBackbone(architecture, seed: 7);
        var metadata = OnnxTestSupport.Metadata(backbone, Classes, Size, ResizeMode.Squash, frozen: autoStyle);
        var pipeline = new TransformPipeline(Size, ResizeMode.Squash, AugmentationOptions.None, metadata.Normalization);
        var images = OnnxTestSupport.Images(photos: true, 3, pipeline, seed: 1).Concat(OnnxTestSupport.Images(photos: false, 5, pipeline, seed: 2)).ToList();
        using var model = autoStyle
            ? OnnxTestSupport.AutoStyle(backbone, Classes.Length, "logreg-std-C1", pipeline, images, seed: 3)
            : OnnxTestSupport.Classifier(backbone, Classes.Length, 0, seed: 11);
        if (!autoStyle) OnnxTestSupport.ScaleLogits(model, pipeline, images, target: 6f);
        var (uncalibrated, _) = OnnxTestSupport.Torch(model, pipeline, images);
        model.Temperature = temperature;

        var onnx = OnnxTestSupport.Export(model, metadata);
        using var session = OnnxTestSupport.Session(onnx);
        var (torchProbabilities, torchLogits) = OnnxTestSupport.Torch(model, pipeline, images);
        var (onnxProbabilities, onnxLogits) = OnnxTestSupport.Onnx(session, OnnxTestSupport.OnnxInput(images, Size), images.Count, Size);

        var delta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, onnxProbabilities);
        var logitDelta = OnnxTestSupport.MaxAbsDifference(torchLogits, onnxLogits);
        var calibrationEffect = OnnxTestSupport.MaxAbsDifference(uncalibrated, torchProbabilities);
        output.WriteLine($"{architecture} T={temperature} auto={autoStyle}: max |Δp| ONNX vs Predict = {delta:E2}, max |Δlogit| = {logitDelta:E2}, " +
                         $"max |logit| = {torchLogits.Max(Math.Abs):F1}; the temperature moves p by up to {calibrationEffect:F3}");
        // With the flip the logits are log-probabilities: float32 rounding of a small probability p becomes an error of
        // about ε/p in its log, so they agree to 1e-3 rather than 1e-4. softmax(z / T) then moves by at most
        // max|Δz| / (2T); softening brings probabilities out of saturation, where that difference, hidden at T = 1, shows.
        var logitTolerance = autoStyle ? 10 * LogitTolerance : LogitTolerance;
        var tolerance = Math.Max(ProbabilityTolerance, (float)(logitTolerance / (2 * temperature)));
        Assert.True(logitDelta < logitTolerance, $"max |Δ| of logits {logitDelta}: the logits output is forward's, uncalibrated");
        Assert.True(delta < tolerance, $"max |Δ| of probabilities {delta} ≥ {tolerance}");
        Assert.True(calibrationEffect > 0.05f, $"the temperature changes probabilities by only {calibrationEffect}: the test could not see it missing");
        // By hand from the logits: softmax(z / T).
        for (var row = 0; row < images.Count; row++)
        {
            var expected = TemperatureScaling.Softmax(torchLogits.AsSpan(row * Classes.Length, Classes.Length), temperature);
            for (var c = 0; c < Classes.Length; c++)
                Assert.True(Math.Abs(expected[c] - onnxProbabilities[row * Classes.Length + c]) < tolerance, $"row {row} class {c}");
        }
        Assert.Equal(((float)temperature).ToString("R", CultureInfo.InvariantCulture), session.ModelMetadata.CustomMetadataMap["temperature"]);
    }

    [Fact]
    public void AModelFilesTemperatureSurvivesSaveAndAnOldFileReadsAsTemperatureOne()
    {
        using var model = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 3), 2, 0, seed: 4);
        var metadata = OnnxTestSupport.Metadata(model.Backbone, ["a", "b"], 32, ResizeMode.Squash) with
        {
            Temperature = 1.75,
            TemperatureFittedOn = "validation",
        };
        using var file = new MemoryStream();
        ModelArtifact.Save(file, model, metadata);
        file.Position = 0;
        var read = ModelArtifact.ReadMetadata(file);
        Assert.Equal(1.75, read.Temperature);
        Assert.Equal("validation", read.TemperatureFittedOn);

        // model.json as written before calibration existed: no temperature keys.
        using var old = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(old, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            file.Position = 0;
            using var source = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true);
            using var reader = new StreamReader(source.GetEntry(ModelArtifact.MetadataEntry)!.Open());
            var json = JsonNode.Parse(reader.ReadToEnd())!.AsObject();
            Assert.True(json.Remove("temperature") && json.Remove("temperatureFittedOn"), "the keys model.json uses changed");
            using var writer = new StreamWriter(zip.CreateEntry(ModelArtifact.MetadataEntry).Open());
            writer.Write(json.ToJsonString());
        }
        old.Position = 0;
        var legacy = ModelArtifact.ReadMetadata(old);
        Assert.Equal(1, legacy.Temperature);
        Assert.Null(legacy.TemperatureFittedOn);

        Assert.Throws<ArgumentOutOfRangeException>(() => model.Temperature = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Temperature = double.NaN);
    }
}
