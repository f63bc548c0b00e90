using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.PyBridge;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Training;

/// <summary>Everything needed to use a trained model again: classes, preprocessing, architecture, metrics.</summary>
public sealed record ModelMetadata
{
    public required string ModelId { get; init; }
    public required string JobId { get; init; }
    public required string Backbone { get; init; }
    public required string BackboneDisplayName { get; init; }
    /// <summary>SHA-256 (hex) of the backbone weights file the run started from; null for random init and for
    /// models written before it was recorded. A frozen-backbone model only fits these exact weights.</summary>
    public string? BackboneWeightsSha256 { get; init; }
    /// <summary>True when only the head was trained: the weights file then holds the head, and the backbone is the
    /// named pretrained one, unchanged.</summary>
    public required bool BackboneFrozen { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public required int ImageSize { get; init; }
    public required ResizeMode Resize { get; init; }
    public required Normalization Normalization { get; init; }
    public required int HiddenUnits { get; init; }
    public required float Dropout { get; init; }
    public required string Mode { get; init; }
    public required int BestEpoch { get; init; }
    public required float Accuracy { get; init; }
    public required string EvaluatedSplit { get; init; }
    public required string DatasetVersion { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Auto mode: applied to the pooled features before the head (statistics of train + val).</summary>
    public Autopilot.FeaturePreprocessing? FeaturePreprocessing { get; init; }
    /// <summary>Test-time augmentation: null = none; "hflip" = the mean of the image's and its horizontal flip's
    /// probabilities (evaluation and Predict alike).</summary>
    public string? TestTimeAugmentation { get; init; }
    /// <summary>Auto mode: which candidate won and its cross-validated score.</summary>
    public Autopilot.AutopilotChoice? Autopilot { get; init; }
    /// <summary>How many of the backbone's last stages are pooled into the head's input (1 = the usual pooled features;
    /// absent in files written before it was recorded).</summary>
    public int PooledStages { get; init; } = 1;
    /// <summary>Temperature scaling (Guo et al. 2017): probabilities = softmax(logits / T), T &gt; 0; 1 in files written
    /// before calibration existed and when there was nothing to fit it on.</summary>
    public double Temperature { get; init; } = 1;
    /// <summary>What <see cref="Temperature"/> was fitted on: "validation", "out-of-fold" (auto mode: the winner's
    /// cross-validation predictions on train + val), or null (not fitted: T = 1).</summary>
    public string? TemperatureFittedOn { get; init; }
    public string WeightsFile { get; init; } = ModelArtifact.WeightsEntry;
    public string Format { get; init; } = "transferhub-model/1";
}

/// <summary>The model file: a zip holding <c>model.json</c> and <c>weights.safetensors</c> (PyTorch-compatible keys).</summary>
public static class ModelArtifact
{
    public const string MetadataEntry = "model.json";
    public const string WeightsEntry = "weights.safetensors";
    public const string HorizontalFlipTta = "hflip";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static void Save(Stream destination, ClassifierModel model, ModelMetadata metadata)
    {
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        using (var entry = zip.CreateEntry(MetadataEntry).Open())
            JsonSerializer.Serialize(entry, metadata, Json);
        using var weights = new MemoryStream();
        (metadata.BackboneFrozen ? (torch.nn.Module)model.Head : model).save_safetensors(weights, null!, leaveOpen: true);
        using var weightsEntry = zip.CreateEntry(WeightsEntry, CompressionLevel.Fastest).Open();
        weights.Position = 0;
        weights.CopyTo(weightsEntry);
    }

    public static ModelMetadata ReadMetadata(Stream source)
    {
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var entry = zip.GetEntry(MetadataEntry) ?? throw new InvalidDataException($"The model file has no {MetadataEntry}.");
        using var stream = entry.Open();
        return JsonSerializer.Deserialize<ModelMetadata>(stream, Json) ?? throw new InvalidDataException($"{MetadataEntry} is empty.");
    }

    /// <summary>Rebuilds the classifier on the CPU, in eval mode.</summary>
    /// <exception cref="WeightFileException">a frozen-backbone model whose recorded backbone weights hash differs from
    /// the weights this worker now has under that backbone name</exception>
    public static (ClassifierModel Model, ModelMetadata Metadata) Load(Stream source, BackboneRegistry backbones)
    {
        var metadata = ReadMetadata(source);
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var entry = zip.GetEntry(metadata.WeightsFile) ?? throw new InvalidDataException($"The model file has no {metadata.WeightsFile}.");
        using var weights = new MemoryStream();
        using (var stream = entry.Open()) stream.CopyTo(weights);
        weights.Position = 0;

        var backbone = backbones.Create(metadata.Backbone);
        if (metadata.BackboneFrozen && metadata.BackboneWeightsSha256 is { } trained && backbone.WeightsSha256 != trained)
        {
            backbone.Dispose();
            throw new WeightFileException(
                $"The model's head was trained on '{metadata.Backbone}' with weights {Short(trained)}, but this worker's " +
                $"'{metadata.Backbone}' now has weights {(backbone.WeightsSha256 is { } now ? Short(now) : "from random initialisation")}: its predictions would be " +
                "meaningless. Put the original weights file back or train the model again.");
        }
        var testTimeFlip = metadata.TestTimeAugmentation switch
        {
            null or "" => false,
            HorizontalFlipTta => true,
            var other => Reject(backbone, $"Unknown test-time augmentation '{other}' in {MetadataEntry}."),
        };
        if (metadata.PooledStages < 1 || metadata.PooledStages >= backbone.Stages.Count)
            Reject(backbone, $"{MetadataEntry} pools {metadata.PooledStages} stages, but '{metadata.Backbone}' has {backbone.Stages.Count} (1 to {backbone.Stages.Count - 1} can be pooled).");
        if (!double.IsFinite(metadata.Temperature) || metadata.Temperature <= 0)
            Reject(backbone, $"{MetadataEntry} states temperature {metadata.Temperature.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be a positive number.");
        var head = new ClassifierHead(backbone.PooledDim(metadata.PooledStages), metadata.ClassNames.Count, metadata.HiddenUnits, metadata.Dropout);
        var model = new ClassifierModel(backbone, head)
        {
            FeaturePreprocessing = metadata.FeaturePreprocessing,
            TestTimeFlip = testTimeFlip,
            PooledStages = metadata.PooledStages,
            Temperature = metadata.Temperature,
        };
        (metadata.BackboneFrozen ? (torch.nn.Module)head : model).load_safetensors(weights, strict: true, null!, null!, leaveOpen: true);
        model.eval();
        return (model, metadata);
    }

    private static bool Reject(Backbone backbone, string message)
    {
        backbone.Dispose();
        throw new InvalidDataException(message);
    }

    private static string Short(string sha256) => sha256.Length > 12 ? sha256[..12] + "…" : sha256;
}
