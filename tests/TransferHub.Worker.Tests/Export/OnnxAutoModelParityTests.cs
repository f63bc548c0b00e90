using System.Reflection;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>Auto-mode models (ADR 014: feature preprocessing before a linear head, test-time flip) export to ONNX graphs
/// that compute what Predict computes: every preprocessing kind the autopilot fits, with and without the flip.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class OnnxAutoModelParityTests(PretrainedResNetFixture fixture, ITestOutputHelper output)
{
    private const float ProbabilityTolerance = 1e-5f;
    private const float LogitTolerance = 1e-4f;
    private const int Size = 64;
    private static readonly string[] Classes = ["cat", "cup", "rocket"];

    [Theory]
    // Candidate names of Candidate.DefaultGrid: nearest-class-mean = centred + L2 (no scale); logreg-std = standardised;
    // logreg-l2 = centred + L2 × √d. "none" = a plain head with a hidden layer (what a fine-tuned model has), flip only.
    [InlineData("resnet18x3", "nearest-class-mean", true, 4)]
    [InlineData("resnet18x3", "logreg-std-C1", true, 1)]
    [InlineData("resnet18x3", "logreg-l2-C1", true, 4)]
    [InlineData("resnet18", "logreg-l2-C0.1", true, 3)]
    [InlineData("resnet50", "logreg-std-C1", false, 4)]
    [InlineData("resnet34", "none", true, 2)]
    // Two stages pooled (ADR 014): the grid's candidates without a suffix use both; "-last-stage" ones the last alone.
    [InlineData("resnet18x3", "logreg-std-ls0.1-C0.1", true, 4, 2)]
    [InlineData("resnet18x3", "logreg-l2-C1-last-stage", true, 1, 2)]
    [InlineData("mobilenet_v2", "logreg-l2-C0.1", true, 3, 2)]
    [InlineData("resnet50", "logreg-std-C1", false, 2, 2)]
    public void AnAutoModelsOnnxExportMatchesPredictWithItsPreprocessingAndFlip(string architecture, string candidate, bool flip, int batch,
        int pooledStages = 1)
    {
        var backbone = architecture == "resnet18x3"
            ? fixture.Registry.Create(BackboneRegistry.PretrainedName)
            : OnnxTestSupport.RandomBackbone(architecture, seed: 5);
        var metadata = OnnxTestSupport.Metadata(backbone, Classes, Size, ResizeMode.Squash, frozen: true);
        var pipeline = new TransformPipeline(Size, ResizeMode.Squash, AugmentationOptions.None, metadata.Normalization);
        // Photos and random pixels: the images the classifier is fitted on, and (the first `batch`) the images compared.
        var images = OnnxTestSupport.Images(photos: true, 3, pipeline, seed: 1).Concat(OnnxTestSupport.Images(photos: false, 6, pipeline, seed: 2)).ToList();
        var compared = images.Skip(1).Take(batch).ToList();
        using var model = candidate == "none"
            ? OnnxTestSupport.Classifier(backbone, Classes.Length, hiddenUnits: 16, seed: 3)
            : OnnxTestSupport.AutoStyle(backbone, Classes.Length, candidate, pipeline, images, seed: 3, pooledStages);
        Assert.Equal(candidate.EndsWith(Candidate.LastStageSuffix, StringComparison.Ordinal) ? 1 : pooledStages, model.PooledStages);
        if (candidate == "none") OnnxTestSupport.ScaleLogits(model, pipeline, images, target: 10f);
        model.TestTimeFlip = flip;

        var onnx = OnnxTestSupport.Export(model, metadata);
        using var session = OnnxTestSupport.Session(onnx);
        var (torchProbabilities, torchLogits) = OnnxTestSupport.Torch(model, pipeline, compared);
        var (onnxProbabilities, onnxLogits) = OnnxTestSupport.Onnx(session, OnnxTestSupport.OnnxInput(compared, Size), batch, Size);

        var probabilityDelta = OnnxTestSupport.MaxAbsDifference(torchProbabilities, onnxProbabilities);
        var logitDelta = OnnxTestSupport.MaxAbsDifference(torchLogits, onnxLogits);
        // What leaving a step out would change: each must be well above the tolerance, or this test could not catch it.
        var withoutFlip = flip ? Without(model, pipeline, compared, m => m.TestTimeFlip = false, torchProbabilities) : float.NaN;
        var withoutPreprocessing = model.FeaturePreprocessing is null || model.PooledStages > 1 ? float.NaN
            : Without(model, pipeline, compared, m => m.FeaturePreprocessing = null, torchProbabilities);
        output.WriteLine($"{architecture} {candidate} flip={flip} batch {batch}: max |Δp| = {probabilityDelta:E2}, max |Δlogit| = {logitDelta:E2}, " +
                         $"max |logit| = {torchLogits.Max(Math.Abs):F3}; without the flip |Δp| would be {withoutFlip:E2}, without the preprocessing {withoutPreprocessing:E2}");
        Assert.True(probabilityDelta < ProbabilityTolerance, $"max |Δ| of probabilities {probabilityDelta} ≥ {ProbabilityTolerance}");
        Assert.True(logitDelta < LogitTolerance, $"max |Δ| of logits {logitDelta} ≥ {LogitTolerance}");
        Assert.True(torchProbabilities.Max() - torchProbabilities.Min() > 0.5f, "the test model's probabilities are nearly uniform");
        if (flip) Assert.True(withoutFlip > 10 * ProbabilityTolerance, $"the flip changes probabilities by only {withoutFlip}: the test could not see it missing");
        if (model.FeaturePreprocessing is not null && model.PooledStages == 1)
            Assert.True(withoutPreprocessing > 10 * ProbabilityTolerance, $"the preprocessing changes probabilities by only {withoutPreprocessing}");

        var props = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(flip ? "hflip" : "none", props["test_time_augmentation"].Split(':')[0]);
        var dim = backbone.PooledDim(model.PooledStages);
        Assert.Equal(candidate.Replace(Candidate.LastStageSuffix, "") switch
        {
            "nearest-class-mean" => "centred, L2-normalised",
            "logreg-std-C1" or "logreg-std-ls0.1-C0.1" => "standardised (per-feature mean and std)",
            "logreg-l2-C1" or "logreg-l2-C0.1" => $"centred, L2-normalised, divided by {1 / MathF.Sqrt(dim):R} (×√{dim})",
            _ => "none",
        }, props["feature_preprocessing"].Split(" pooled features")[0]);
    }

    [Fact]
    public void AFeaturePreprocessingThatDoesNotFitTheBackboneIsRefusedNotExported()
    {
        using var model = OnnxTestSupport.Classifier(OnnxTestSupport.RandomBackbone("resnet18", seed: 3), 2, 0, seed: 4);
        model.FeaturePreprocessing = new FeaturePreprocessing { Mean = new float[10], Std = new float[10] };
        var error = Assert.Throws<OnnxExportException>(() =>
            OnnxExporter.Build(model, OnnxTestSupport.Metadata(model.Backbone, ["a", "b"], 32, ResizeMode.Squash)));
        Assert.Contains("512 features", error.Message);
        Assert.Contains("mean has 10 values", error.Message);
    }

    /// <summary>The exporter reproduces every setting by which a <see cref="ClassifierModel"/>'s forward can differ from
    /// backbone → head. A new one must be exported (or refused) before this list is changed.</summary>
    [Fact]
    public void TheExporterKnowsEveryInferenceSettingOfAClassifierModel()
    {
        var settable = typeof(ClassifierModel).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.DeclaringType == typeof(ClassifierModel) && p.SetMethod is { IsPublic: true }).Select(p => p.Name).Order();
        Assert.Equal(["FeaturePreprocessing", "PooledStages", "Temperature", "TestTimeFlip"], settable);
        var steps = typeof(FeaturePreprocessing).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).Order();
        Assert.Equal(["Centre", "L2Normalise", "Mean", "Std"], steps);
    }

    private static float Without(ClassifierModel model, TransformPipeline pipeline, IReadOnlyList<byte[]> images, Action<ClassifierModel> change,
        float[] reference)
    {
        var (flip, pre) = (model.TestTimeFlip, model.FeaturePreprocessing);
        change(model);
        var (probabilities, _) = OnnxTestSupport.Torch(model, pipeline, images);
        (model.TestTimeFlip, model.FeaturePreprocessing) = (flip, pre);
        return OnnxTestSupport.MaxAbsDifference(reference, probabilities);
    }
}
