using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Inference;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;
using TransferHub.Imaging;

namespace TransferHub.Worker.Engine.Evaluation;

public sealed record ClassProbability(int ClassIndex, string ClassName, float Probability);

/// <summary>The most probable classes (calibrated probabilities, most probable first) and the model's temperature.</summary>
public sealed record Prediction(IReadOnlyList<ClassProbability> Top, double Temperature);

/// <summary>One class's Grad-CAM explanation of an image (<see cref="GradCam"/>).</summary>
/// <param name="Probability">The class's calibrated probability: exactly what <see cref="Predictor.Predict"/> gives for the image.</param>
/// <param name="Png">The image (longer side at most <see cref="HeatmapOverlay.MaxSide"/> px) with the heatmap blended over it.</param>
/// <param name="Map">The raw map on the last stage's grid (<see cref="ClassActivationMap.Map"/>).</param>
/// <param name="PeakX">Where the map is largest (<see cref="HeatmapOverlay.Peak"/>), in the decoded image's pixels (x to the right).</param>
/// <param name="PeakY">The same, y downwards.</param>
public sealed record ClassExplanation(int ClassIndex, string ClassName, float Probability, byte[] Png, float[] Map, float PeakX, float PeakY);

/// <summary>Grad-CAM explanations of one image under one model.</summary>
/// <param name="ImageWidth">The decoded image's width after orientation: the frame of the peaks.</param>
/// <param name="Layer">Which activations were explained, in words.</param>
public sealed record Explanation(int PredictedClassIndex, string PredictedClassName, int ImageWidth, int ImageHeight, int MapHeight, int MapWidth,
    int InputSize, string Layer, ResizeMode Resize, IReadOnlyList<ClassExplanation> Classes);

/// <summary>A class index the model does not have, or a malformed list of them; the message says what is allowed.</summary>
public sealed class ClassSelectionException(string message) : Exception(message);

/// <summary>Classifies single images with stored models, through the same transform pipeline as training, with the
/// model's calibrated probabilities (softmax of the logits divided by its temperature). Keeps recently used models
/// loaded (<see cref="LoadedModelCache"/>, bounded by <c>Worker:LoadedModelsMegabytes</c>). A frozen-backbone model on a
/// CPU worker runs its backbone through ONNX Runtime (<see cref="FrozenFeatures"/>, the session feature extraction
/// shares; ADR 031), with the test-time flip as a second image of the same call, and its head in TorchSharp; other
/// models run wholly in TorchSharp.</summary>
public sealed class Predictor(ModelStore models, BackboneRegistry backbones, TorchRuntime runtime, long maxPixels, long maxLoadedBytes = 512L << 20)
    : IDisposable
{
    /// <summary>The most classes one <see cref="Explain"/> call takes.</summary>
    public const int MaxExplainedClasses = 8;
    private readonly object _lock = new();
    private readonly LoadedModelCache _loaded = new(models, backbones, runtime.Device, maxLoadedBytes);

    /// <summary>The loaded models (counters of loads, hits and evictions). Read under no lock: for tests and diagnostics.</summary>
    public LoadedModelCache Loaded => _loaded;

    /// <summary>The <paramref name="topK"/> most probable classes of <paramref name="image"/> (≤ 0: 5).</summary>
    /// <exception cref="FileNotFoundException">No such model.</exception>
    /// <exception cref="ImageDecodeException">The image does not decode, or has more than the worker's pixel limit.</exception>
    /// <exception cref="WeightFileException">A frozen-backbone model whose backbone weights this worker no longer has.</exception>
    public Prediction Predict(string modelId, byte[] image, int topK)
    {
        if (!models.Exists(modelId)) throw new FileNotFoundException($"No model '{modelId}' on this worker.");
        using var decoded = ImageDecoder.Decode(image, "the uploaded image", maxPixels);
        lock (_lock)
        {
            var loaded = _loaded.Get(modelId);
            var probabilities = Probabilities(loaded, PipelineOf(loaded.Metadata), decoded);
            return new Prediction(probabilities
                .Select((p, i) => new ClassProbability(i, loaded.Metadata.ClassNames[i], p))
                .OrderByDescending(p => p.Probability)
                .Take(topK <= 0 ? 5 : topK)
                .ToList(), loaded.Model.Temperature);
        }
    }

    /// <summary>Grad-CAM (<see cref="GradCam"/>) of <paramref name="image"/> for each class of <paramref name="classIndices"/>
    /// (empty = the predicted class), computed on exactly the tensor Predict classifies and drawn over the image by the
    /// run's resize mode (<see cref="HeatmapOverlay"/>). The probabilities are Predict's calibrated ones; the explained
    /// score is taken before the temperature, which changes neither the argmax nor, up to the positive factor 1/T that the
    /// per-map normalisation removes, the map.</summary>
    /// <exception cref="FileNotFoundException">No such model.</exception>
    /// <exception cref="ImageDecodeException">The image does not decode.</exception>
    /// <exception cref="ClassSelectionException">A class index out of range, a repeated one, or more than
    /// <see cref="MaxExplainedClasses"/>.</exception>
    public Explanation Explain(string modelId, byte[] image, IReadOnlyList<int> classIndices)
    {
        if (!models.Exists(modelId)) throw new FileNotFoundException($"No model '{modelId}' on this worker.");
        if (classIndices.Count > MaxExplainedClasses)
            throw new ClassSelectionException($"class_indices: at most {MaxExplainedClasses} classes per call; got {classIndices.Count}.");
        if (classIndices.Distinct().Count() != classIndices.Count)
            throw new ClassSelectionException($"class_indices: each class at most once; got [{string.Join(", ", classIndices)}].");
        using var decoded = ImageDecoder.Decode(image, "the uploaded image", maxPixels);
        lock (_lock)
        {
            var loaded = _loaded.Get(modelId);
            var (model, metadata) = (loaded.Model, loaded.Metadata);
            var names = metadata.ClassNames;
            var wrong = classIndices.Where(k => k < 0 || k >= names.Count).ToList();
            if (wrong.Count > 0)
                throw new ClassSelectionException($"class_indices: {string.Join(", ", wrong)} {(wrong.Count == 1 ? "is not a class" : "are not classes")} of this model " +
                    $"(0 to {names.Count - 1}: {string.Join(", ", names.Take(10))}{(names.Count > 10 ? ", …" : "")}).");
            var pipeline = PipelineOf(metadata);
            // Predict's own probabilities where Predict takes another engine (ONNX Runtime): the ones beside the maps, and
            // the predicted class, are then exactly what Predict answers for the image.
            var predictedBy = OnOnnxRuntime(loaded) ? Probabilities(loaded, pipeline, decoded) : null;
            GradCamResult result;
            using (var scope = torch.NewDisposeScope())
            {
                var input = Input(pipeline, decoded);
                var predicted = predictedBy is null ? -1 : Array.IndexOf(predictedBy, predictedBy.Max());
                if (classIndices.Count == 0 && predictedBy is null)
                {
                    using var noGrad = torch.no_grad();
                    predicted = (int)model.forward(input).argmax(1).item<long>();
                }
                result = GradCam.Compute(model, input, classIndices.Count == 0 ? [predicted] : classIndices);
            }
            if (predictedBy is not null) result = result with { Probabilities = predictedBy };
            var top = Array.IndexOf(result.Probabilities, result.Probabilities.Max());
            var stages = model.Backbone.Stages.Count;
            var layer = $"the output of the backbone's last stage ({stages} of {stages}): {result.MapHeight}×{result.MapWidth} cells over the {result.InputSize} px input" +
                (model.PooledStages > 1 ? $"; the model also pools {model.PooledStages - 1} earlier stage(s), held fixed here" : "") +
                (model.TestTimeFlip ? "; the image's and its mirror image's passes added" : "");
            return new Explanation(top, names[top], decoded.Width, decoded.Height, result.MapHeight, result.MapWidth, result.InputSize, layer, metadata.Resize,
                [.. result.Maps.Select(m =>
                {
                    var peak = HeatmapOverlay.Peak(decoded, pipeline, m.Map, result.MapHeight, result.MapWidth);
                    return new ClassExplanation(m.ClassIndex, names[m.ClassIndex], result.Probabilities[m.ClassIndex],
                        HeatmapOverlay.Render(decoded, pipeline, m.Upsampled), m.Map, peak.X, peak.Y);
                })]);
        }
    }

    private static TransformPipeline PipelineOf(ModelMetadata metadata) =>
        new(metadata.ImageSize, metadata.Resize, AugmentationOptions.None, metadata.Normalization);

    /// <summary>The one image as the network sees it: [1, 3, S, S] on the model's device (in the caller's dispose scope).</summary>
    private Tensor Input(TransformPipeline pipeline, DecodedImage decoded)
    {
        var size = pipeline.Size;
        var pixels = new float[3 * size * size];
        pipeline.Apply(decoded, null, pixels);
        return torch.tensor(pixels, [1, 3, size, size]).to(runtime.Device);
    }

    /// <summary>Whether <see cref="Probabilities"/> runs the model's backbone through ONNX Runtime: a frozen, pretrained
    /// backbone (its weights hash keys the shared session) on the CPU.</summary>
    private bool OnOnnxRuntime(LoadedModel loaded) =>
        loaded.Metadata.BackboneFrozen && runtime.Device.type == DeviceType.CPU && loaded.Model.Backbone.WeightsSha256 is not null;

    /// <summary>The calibrated class probabilities of one image under the model (softmax(scores / T), in class order).</summary>
    private float[] Probabilities(LoadedModel loaded, TransformPipeline pipeline, DecodedImage decoded)
    {
        var model = loaded.Model;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (!OnOnnxRuntime(loaded))
            return model.Probabilities(Input(pipeline, decoded)).cpu().data<float>().ToArray();
        var size = pipeline.Size;
        var pixels = new float[3 * size * size];
        pipeline.Apply(decoded, null, pixels);
        // One call for both views: the image and, for a test-time-flip model, its mirror image.
        var views = model.TestTimeFlip ? 2 : 1;
        var input = model.TestTimeFlip ? [.. pixels, .. FrozenFeatures.Mirror(pixels, 1, size)] : pixels;
        var features = FrozenFeatures.Compute(model.Backbone, model.PooledStages, input, views, size, runtime.Device);
        var all = torch.tensor(features, [views, features.Length / views]);
        return model.ProbabilitiesFromFeatures(all[..1], model.TestTimeFlip ? all[1..] : null).data<float>().ToArray();
    }

    public void Dispose()
    {
        lock (_lock) _loaded.Dispose();
    }
}
