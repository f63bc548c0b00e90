using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;
using TransferHub.Imaging;

namespace TransferHub.Worker.Engine.Evaluation;

public sealed record ClassProbability(int ClassIndex, string ClassName, float Probability);

/// <summary>The most probable classes (calibrated probabilities, most probable first) and the model's temperature.</summary>
public sealed record Prediction(IReadOnlyList<ClassProbability> Top, double Temperature);

/// <summary>Classifies single images with stored models, through the same transform pipeline as training, with the
/// model's calibrated probabilities (softmax of the logits divided by its temperature).
/// Keeps the few most recently used models loaded.</summary>
public sealed class Predictor(ModelStore models, BackboneRegistry backbones, TorchRuntime runtime, long maxPixels) : IDisposable
{
    private const int ModelsKept = 3;
    private readonly object _lock = new();
    private readonly LinkedList<(string Id, ClassifierModel Model, ModelMetadata Metadata)> _loaded = new();

    public Prediction Predict(string modelId, byte[] image, int topK)
    {
        if (!models.Exists(modelId)) throw new FileNotFoundException($"No model '{modelId}' on this worker.");
        using var decoded = ImageDecoder.Decode(image, "the uploaded image", maxPixels);
        lock (_lock)
        {
            var (model, metadata) = Load(modelId);
            var pipeline = new TransformPipeline(metadata.ImageSize, metadata.Resize, AugmentationOptions.None, metadata.Normalization);
            var pixels = new float[3 * metadata.ImageSize * metadata.ImageSize];
            pipeline.Apply(decoded, null, pixels);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var input = torch.tensor(pixels, [1, 3, metadata.ImageSize, metadata.ImageSize]).to(runtime.Device);
            var probabilities = model.Probabilities(input).cpu().data<float>().ToArray();
            return new Prediction(probabilities
                .Select((p, i) => new ClassProbability(i, metadata.ClassNames[i], p))
                .OrderByDescending(p => p.Probability)
                .Take(topK <= 0 ? 5 : topK)
                .ToList(), model.Temperature);
        }
    }

    private (ClassifierModel, ModelMetadata) Load(string modelId)
    {
        var node = _loaded.First;
        while (node is not null && node.Value.Id != modelId) node = node.Next;
        if (node is not null)
        {
            _loaded.Remove(node);
            _loaded.AddFirst(node);
            return (node.Value.Model, node.Value.Metadata);
        }
        using var stream = models.OpenRead(modelId);
        var (model, metadata) = ModelArtifact.Load(stream, backbones);
        model.to(runtime.Device);
        _loaded.AddFirst((modelId, model, metadata));
        while (_loaded.Count > ModelsKept)
        {
            _loaded.Last!.Value.Model.Dispose();
            _loaded.RemoveLast();
        }
        return (model, metadata);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var entry in _loaded) entry.Model.Dispose();
            _loaded.Clear();
        }
    }
}
