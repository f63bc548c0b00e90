using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using TorchSharp;
using TorchSharp.Modules;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Export;

/// <summary>Thrown when a model cannot be exported because it holds a module the exporter has no ONNX translation for;
/// the message names the module and where it sits.</summary>
public sealed class OnnxExportException(string message) : Exception(message);

/// <summary>
/// Writes a trained model (backbone + head + softmax) as a self-contained ONNX model, opset 17, IR version 8.
/// </summary>
/// <remarks>
/// <para>Graph contract (every exported model, whatever its backbone):</para>
/// <list type="bullet">
/// <item>Input <c>image</c>: float32 <c>[N, 3, S, S]</c>, N dynamic (dim_param "N"), S = the run's image size;
/// RGB planes, values 0–255 (bytes as floats, not scaled), the image already brought to S×S as the run did it
/// (metadata <c>resize_mode</c>: whole image squashed, or centre square), alpha composited onto white.</item>
/// <item>The backbone's own normalisation is the first part of the graph (ONNX <c>Gather</c> for BGR models, then
/// <c>Mul</c> by the scale, <c>Sub</c> the channel means, <c>Div</c> by the standard deviations: exactly
/// <see cref="TransformPipeline.Normalize"/>'s (byte × Scale − Mean[c]) / Std[c]).</item>
/// <item>Outputs <c>probabilities</c>: float32 <c>[N, classes]</c>, softmax over classes (each row sums to 1), and
/// <c>logits</c>: float32 <c>[N, classes]</c>, the head's raw scores; probabilities = softmax(logits / T), T the run's
/// temperature (temperature scaling, Guo et al. 2017; a <c>Div</c> by the initializer <c>temperature</c> before the
/// <c>Softmax</c>; metadata <c>temperature</c>; 1 when the run fitted none).</item>
/// <item>What <see cref="ClassifierModel.forward"/> adds for auto-mode models is in the graph as well, computed in the
/// same order: the <see cref="FeaturePreprocessing"/> of the pooled features (<c>Sub</c> centre, <c>ReduceL2</c> +
/// <c>Max</c>(1e-12) + <c>Div</c>, <c>Sub</c> mean, <c>Div</c> std) and the test-time flip (the normalised image and its
/// mirror — <c>Slice</c> with step −1 on the width — go through the network as one batch of 2N; the two halves'
/// softmax probabilities are averaged; <c>logits</c> is then log(max(mean, 1e-30)), exactly what forward returns, and
/// <c>probabilities</c> softmax(logits / T), as Predict computes them).</item>
/// <item>An ensemble (<see cref="BuildEnsemble"/>) is its members' graphs side by side on the one input (initializers
/// with identical contents stored once), <c>probabilities</c> = <c>Mean</c> of the members' (each calibrated with its own
/// temperature) probabilities and
/// <c>logits</c> = log(max(probabilities, 1e-30)).</item>
/// </list>
/// <para>The graph is emitted by walking the TorchSharp module tree in forward order, using each module's own
/// settings (stride, padding, dilation, groups, epsilon): Conv2d → <c>Conv</c>, BatchNorm2d → <c>BatchNormalization</c>
/// (kept, not folded; inference mode; ONNX Runtime folds it at load), ReLU → <c>Relu</c>, ReLU6 → <c>Clip</c>(0, 6),
/// MaxPool2d → <c>MaxPool</c>, the backbones' global average pooling → <c>GlobalAveragePool</c> + <c>Flatten</c>,
/// Linear → <c>Gemm</c> (transB = 1), dropout → nothing (identity at inference), residual blocks (BasicBlock,
/// Bottleneck, MobileNetV2's InvertedResidual) → their branches + <c>Add</c> (+ <c>Relu</c> for ResNet blocks).
/// Operator semantics: https://github.com/onnx/onnx/blob/main/docs/Operators.md (opset 17 versions).
/// Initializer names are the model's state_dict keys (<c>backbone.layer1.0.conv1.weight</c>, …).</para>
/// <para>A module type the walker does not know, or a setting it cannot reproduce, throws
/// <see cref="OnnxExportException"/> naming it: nothing is exported that would compute something else. Parity with
/// TorchSharp is tested per architecture, per feature preprocessing, with the flip, and for ensembles.</para>
/// </remarks>
public sealed partial class OnnxExporter(ModelStore models, BackboneRegistry backbones)
{
    public const int Opset = 17;
    public const int IrVersion = 8;
    public const string InputName = "image";
    public const string ProbabilitiesName = "probabilities";
    public const string LogitsName = "logits";

    /// <summary>The metadata_props keys the exporter writes itself; a caller's metadata may not use them.</summary>
    public static readonly IReadOnlyList<string> ReservedKeys =
    [
        "class_names", "input", "image_size", "resize_mode", "resize_filter", "alpha_background", "normalization",
        "backbone", "backbone_display_name", "weights_source", "backbone_weights_sha256", "backbone_frozen",
        "dataset_version", "transferhub_version", "model_id", "job_id", "created_at", "mode", "temperature",
        "outputs", "format", "feature_preprocessing", "test_time_augmentation", "ensemble_members",
    ];

    /// <summary>The most members an ensemble export takes.</summary>
    public const int MaxEnsembleMembers = 16;

    /// <summary>Protobuf cannot write a message of 2 GiB or more; ONNX's external-data layout is not implemented.</summary>
    internal const long MaxModelBytes = int.MaxValue - (16 << 20);

    private static readonly string Version =
        typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Loads the stored model <paramref name="modelId"/> and writes its ONNX model to <paramref name="destination"/>.</summary>
    /// <param name="metadata">Extra metadata_props from the caller (e.g. the web's metrics and evaluated split), added
    /// as given; keys must be non-empty and not in <see cref="ReservedKeys"/>.</param>
    /// <exception cref="FileNotFoundException">no such model on this worker</exception>
    /// <exception cref="ArgumentException">a reserved or empty metadata key</exception>
    /// <exception cref="OnnxExportException">a module the exporter cannot translate</exception>
    /// <exception cref="WeightFileException">the model's frozen backbone weights are no longer on this worker</exception>
    public void Export(string modelId, IReadOnlyDictionary<string, string>? metadata, Stream destination)
    {
        CheckMetadata(metadata);
        using var stream = models.OpenRead(modelId);
        var (model, modelMetadata) = ModelArtifact.Load(stream, backbones);
        using (model)
        {
            var proto = Build(model, modelMetadata, metadata);
            proto.WriteTo(destination);
        }
    }

    /// <summary>Builds the ONNX model of <paramref name="model"/> (any device; its tensors are copied to the CPU; it
    /// should be in eval mode, as <see cref="ModelArtifact.Load"/> leaves it: BatchNorm uses its running statistics).</summary>
    /// <exception cref="ArgumentException">a reserved or empty key in <paramref name="extraMetadata"/></exception>
    /// <exception cref="OnnxExportException">a module the exporter cannot translate</exception>
    public static ModelProto Build(ClassifierModel model, ModelMetadata metadata, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        CheckMetadata(extraMetadata);
        var classes = metadata.ClassNames.Count;
        var graph = new OnnxGraphBuilder();
        graph.Graph.Name = $"transferhub-{metadata.ModelId}";
        graph.Graph.DocString = $"{metadata.BackboneDisplayName} + {HeadDescription(model, metadata)}, {classes} classes";

        var (probabilities, logits) = EmitClassifier(graph, model, metadata, "", ProbabilitiesName, LogitsName);
        AddInputAndOutputs(graph, metadata.ImageSize, classes, probabilities, logits, model.TestTimeFlip
            ? "float32 [N,classes]: log of the mean of the image's and its horizontal flip's probabilities (softmax of it = probabilities)"
            : "float32 [N,classes]: raw class scores before softmax");
        return Model(graph, $"TransferHub model {metadata.ModelId}: {string.Join(", ", metadata.ClassNames)}",
            MetadataProps(metadata, model), extraMetadata);
    }

    /// <summary>The head as the graph's doc string names it (hidden layer or linear, plus what auto mode adds).</summary>
    private static string HeadDescription(ClassifierModel model, ModelMetadata metadata) =>
        (metadata.HiddenUnits > 0 ? $"{metadata.HiddenUnits}-unit hidden layer" : "linear") + " head" +
        (model.FeaturePreprocessing is { } pre ? $" on {Describe(pre, model.Backbone.PooledDim(model.PooledStages))} features" : "") +
        (model.PooledStages > 1 ? $" of the last {model.PooledStages} stages pooled" : "") +
        (model.TestTimeFlip ? ", mean with the horizontal flip" : "");

    /// <summary>One classifier on <see cref="InputName"/>: normalisation, (flip), backbone, feature preprocessing, head,
    /// softmax (mean over the flip). Its two results get the given names; every other value and initializer is named
    /// under <paramref name="prefix"/> (e.g. "member0.").</summary>
    /// <exception cref="OnnxExportException">a module or setting with no exact ONNX translation</exception>
    private static (string Probabilities, string Logits) EmitClassifier(OnnxGraphBuilder graph, ClassifierModel model, ModelMetadata metadata,
        string prefix, string probabilitiesName, string logitsName)
    {
        var x = EmitNormalization(graph, InputName, metadata.Normalization, prefix + "preprocess");
        if (model.TestTimeFlip)
        {
            // The mirror of the normalised image (forward flips the normalised tensor; normalisation is per pixel, so the
            // order does not matter), stacked after the image: one pass of the network over [2N, 3, S, S].
            var flipped = graph.Node("Slice", prefix + "tta.flipped", [x,
                graph.Int64Initializer(prefix + "tta.starts", [-1], [1]), graph.Int64Initializer(prefix + "tta.ends", [long.MinValue], [1]),
                graph.Int64Initializer(prefix + "tta.axes", [3], [1]), graph.Int64Initializer(prefix + "tta.steps", [-1], [1])]);
            x = graph.Node("Concat", prefix + "tta.views", [x, flipped], OnnxGraphBuilder.Int("axis", 0));
        }
        x = new Walker(graph).EmitPooledStages(model.Backbone, prefix + "backbone", x, model.PooledStages);
        if (model.FeaturePreprocessing is { } pre)
            x = EmitFeaturePreprocessing(graph, x, pre, model.Backbone.PooledDim(model.PooledStages), prefix + "features");
        x = new Walker(graph).Emit(model.Head, prefix + "head", x);

        string logits;
        if (model.TestTimeFlip)
        {
            // ClassifierModel.forward: log(clamp_min((softmax(l_image) + softmax(l_flip)) / 2, 1e-30)).
            var views = graph.Node("Softmax", prefix + "tta.view_probabilities", [x], OnnxGraphBuilder.Int("axis", 1));
            var (image, mirror) = graph.Node2("Split", prefix + "tta.image_probabilities", prefix + "tta.flip_probabilities", [views],
                OnnxGraphBuilder.Int("axis", 0));
            var sum = graph.Node("Add", prefix + "tta.sum", [image, mirror]);
            var mean = graph.Node("Div", prefix + "tta.mean", [sum, Scalar(graph, prefix + "tta.two", 2f)]);
            var clamped = graph.Node("Max", prefix + "tta.clamped", [mean, Scalar(graph, prefix + "tta.min_probability", 1e-30f)]);
            logits = graph.Node("Log", logitsName, [clamped]);
        }
        else
            logits = graph.Node("Identity", logitsName, [x]);
        // Temperature scaling: Predict's softmax(forward / T) (ClassifierModel.Probabilities), T as the float torch divides by.
        var scaled = graph.Node("Div", prefix + "calibrated_logits", [logits, Scalar(graph, prefix + "temperature", (float)model.Temperature)]);
        var probabilities = graph.Node("Softmax", probabilitiesName, [scaled], OnnxGraphBuilder.Int("axis", 1));
        if (logits != logitsName || probabilities != probabilitiesName)
            throw new InvalidOperationException($"ONNX value names '{logitsName}' / '{probabilitiesName}' were already taken.");
        return (probabilities, logits);
    }

    /// <summary><see cref="FeaturePreprocessing.Apply(Tensor)"/> on [M, dim] features, step by step in its order:
    /// − centre; ÷ max(‖x‖₂, 1e-12) per row; − mean, ÷ std (only when both are set).</summary>
    private static string EmitFeaturePreprocessing(OnnxGraphBuilder graph, string x, FeaturePreprocessing pre, int dim, string path)
    {
        var wrong = new[] { ("centre", pre.Centre), ("mean", pre.Mean), ("std", pre.Std) }
            .Where(v => v.Item2 is not null && v.Item2.Length != dim).Select(v => $"{v.Item1} has {v.Item2!.Length} values").ToList();
        if (wrong.Count > 0)
            throw new OnnxExportException($"Cannot export '{path}': the feature preprocessing does not fit the backbone's {dim} features ({string.Join(", ", wrong)}).");
        if (pre.Centre is { } centre)
            x = graph.Node("Sub", path + ".centred", [x, graph.Initializer(path + ".centre", centre, [dim])]);
        if (pre.L2Normalise)
        {
            var norm = graph.Node("ReduceL2", path + ".norm", [x], OnnxGraphBuilder.Ints("axes", [1]), OnnxGraphBuilder.Int("keepdims", 1));
            var clamped = graph.Node("Max", path + ".norm_clamped", [norm, Scalar(graph, path + ".min_norm", 1e-12f)]);
            x = graph.Node("Div", path + ".l2_normalised", [x, clamped]);
        }
        if (pre is { Mean: { } mean, Std: { } std })
        {
            x = graph.Node("Sub", path + ".standardised_centred", [x, graph.Initializer(path + ".mean", mean, [dim])]);
            x = graph.Node("Div", path + ".standardised", [x, graph.Initializer(path + ".std", std, [dim])]);
        }
        return x;
    }

    private static void AddInputAndOutputs(OnnxGraphBuilder graph, int size, int classes, string probabilities, string logits, string logitsDoc)
    {
        const string inputDoc = "float32 [N,3,H,W]: RGB planes, 0–255, the image resized to H×W as the metadata's resize_mode says";
        graph.Graph.Input.Add(OnnxGraphBuilder.FloatTensor(InputName, [null, 3, size, size], "N", inputDoc));
        graph.Graph.Output.Add(OnnxGraphBuilder.FloatTensor(probabilities, [null, classes], "N", "float32 [N,classes]: probabilities, each row sums to 1"));
        graph.Graph.Output.Add(OnnxGraphBuilder.FloatTensor(logits, [null, classes], "N", logitsDoc));
    }

    /// <exception cref="OnnxExportException">the model would be 2 GiB or more (protobuf's limit)</exception>
    private static ModelProto Model(OnnxGraphBuilder graph, string doc, IEnumerable<(string Key, string Value)> props,
        IReadOnlyDictionary<string, string>? extraMetadata)
    {
        if (graph.InitializerBytes > MaxModelBytes)
            throw new OnnxExportException(FormattableString.Invariant(
                $"Cannot export: the weights take {graph.InitializerBytes / (1024.0 * 1024 * 1024):F2} GiB, and an ONNX file is a protobuf message, ") +
                "which must stay under 2 GiB (ONNX's external-data layout is not implemented). Export fewer or smaller models.");
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "TransferHub",
            ProducerVersion = Version,
            ModelVersion = 1,
            DocString = doc,
            Graph = graph.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in props)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        if (extraMetadata is not null)
            foreach (var (key, value) in extraMetadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value ?? "" });
        return proto;
    }

    /// <summary>The backbone alone as an ONNX graph (input "image", already normalised), initializers named by its
    /// state_dict keys: the reference layout <see cref="Backbones.Onnx.OnnxStateDict"/> maps ONNX files onto.</summary>
    internal static GraphProto BackboneGraph(Backbone backbone)
    {
        var graph = new OnnxGraphBuilder();
        new Walker(graph).Emit(backbone, "", InputName);
        return graph.Graph;
    }

    /// <summary>The frozen backbone as a feature extractor for ONNX Runtime: input <see cref="InputName"/> float32
    /// [N,3,S,S] already normalised (what the transform pipeline renders), output "features" float32
    /// [N, <see cref="Backbone.PooledDim"/>(<paramref name="pooledStages"/>)] = <see cref="Backbone.PooledStages"/>.</summary>
    /// <exception cref="OnnxExportException">a module with no ONNX translation</exception>
    internal static ModelProto FeatureModel(Backbone backbone, int pooledStages, int size)
    {
        var graph = new OnnxGraphBuilder();
        graph.Graph.Name = $"features-{backbone.Descriptor.Name}";
        var x = new Walker(graph).EmitPooledStages(backbone, "backbone", InputName, pooledStages);
        var features = graph.Node("Identity", FeaturesName, [x]);
        graph.Graph.Input.Add(OnnxGraphBuilder.FloatTensor(InputName, [null, 3, size, size], "N", "float32 [N,3,S,S], normalised"));
        graph.Graph.Output.Add(OnnxGraphBuilder.FloatTensor(features, [null, backbone.PooledDim(pooledStages)], "N", "float32 [N,D] pooled features"));
        return Model(graph, $"{backbone.Descriptor.Name} pooled features ({pooledStages} stage(s))", [], null);
    }

    /// <summary>The output of <see cref="FeatureModel"/>.</summary>
    internal const string FeaturesName = "features";

    /// <summary>The metadata_props the exporter writes: everything the sample needs to preprocess and label.</summary>
    public static IReadOnlyList<(string Key, string Value)> MetadataProps(ModelMetadata metadata, ClassifierModel model)
    {
        var backbone = model.Backbone;
        var outputs = model.TestTimeFlip
            ? $"{ProbabilitiesName} float32 [N,{metadata.ClassNames.Count}] softmax(logits / temperature); " +
              $"{LogitsName} float32 [N,{metadata.ClassNames.Count}] log of the mean of the image's and its horizontal flip's softmax probabilities"
            : $"{ProbabilitiesName} float32 [N,{metadata.ClassNames.Count}] softmax(logits / temperature); {LogitsName} float32 [N,{metadata.ClassNames.Count}] raw class scores";
        return
        [
            ("class_names", JsonSerializer.Serialize(metadata.ClassNames)),
            ("input", $"float32 [N,3,{metadata.ImageSize},{metadata.ImageSize}] named '{InputName}': RGB planes, values 0–255 (not scaled), " +
                      "alpha composited onto white, EXIF orientation applied, resized as resize_mode says; normalisation is inside the graph"),
            ("image_size", metadata.ImageSize.ToString(CultureInfo.InvariantCulture)),
            ("resize_mode", metadata.Resize == ResizeMode.Squash ? "squash" : "center_crop"),
            ("resize_filter", "bilinear from the nearest mipmap level (SkiaSharp SKFilterMode.Linear + SKMipmapMode.Nearest)"),
            ("alpha_background", "#FFFFFF"),
            ("normalization", Describe(metadata.Normalization)),
            ("feature_preprocessing", model.FeaturePreprocessing is { } pre
                ? $"{Describe(pre, backbone.PooledDim(model.PooledStages))} pooled features before the head (statistics of the training images, inside the graph)"
                : "none"),
            ("test_time_augmentation", model.TestTimeFlip
                ? "hflip: probabilities are the mean of the image's and its horizontal flip's (inside the graph)"
                : "none"),
            ("backbone", metadata.Backbone),
            ("backbone_display_name", metadata.BackboneDisplayName),
            ("weights_source", backbone.Descriptor.WeightsSource),
            ("backbone_weights_sha256", metadata.BackboneWeightsSha256 ?? ""),
            ("backbone_frozen", metadata.BackboneFrozen ? "true" : "false"),
            ("mode", metadata.Mode),
            ("dataset_version", metadata.DatasetVersion),
            ("model_id", metadata.ModelId),
            ("job_id", metadata.JobId),
            ("created_at", metadata.CreatedAt.ToString("O", CultureInfo.InvariantCulture)),
            ("temperature", ((float)model.Temperature).ToString("R", CultureInfo.InvariantCulture)),
            ("outputs", outputs),
            ("transferhub_version", Version),
            ("format", "transferhub-onnx/1"),
        ];
    }

    private static void CheckMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null) return;
        var bad = metadata.Keys.Where(k => string.IsNullOrWhiteSpace(k) || ReservedKeys.Contains(k, StringComparer.Ordinal)).ToList();
        if (bad.Count > 0)
            throw new ArgumentException(
                $"Metadata keys {string.Join(", ", bad.Select(k => $"'{k}'"))} are not allowed: keys must be non-empty and not one the exporter " +
                $"writes itself ({string.Join(", ", ReservedKeys)}).", nameof(metadata));
    }

    /// <summary>The normalisation as metadata states it.</summary>
    private static string Describe(Normalization n) => string.Create(CultureInfo.InvariantCulture,
        $"(x * {n.Scale:R} - mean[c]) / std[c], mean [{string.Join(", ", n.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}], " +
        $"std [{string.Join(", ", n.Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}], channels {(n.Bgr ? "BGR" : "RGB")} (inside the graph)");

    /// <summary>The feature preprocessing in words: "standardised (per-feature mean and std)", "centred, L2-normalised, ×√512", ….</summary>
    private static string Describe(FeaturePreprocessing pre, int dim)
    {
        var steps = new List<string>();
        if (pre.Centre is not null) steps.Add("centred");
        if (pre.L2Normalise) steps.Add("L2-normalised");
        if (pre is { Mean: { } mean, Std: { } std })
            steps.Add(mean.All(m => m == 0) && std.Distinct().Count() == 1
                ? string.Create(CultureInfo.InvariantCulture, $"divided by {std[0]:R} (×√{dim})")
                : "standardised (per-feature mean and std)");
        return steps.Count == 0 ? "unchanged" : string.Join(", ", steps);
    }

    /// <summary>(x × Scale − Mean[c]) / Std[c] on the RGB (or, after a Gather, BGR) planes; steps that are identities are left out.</summary>
    private static string EmitNormalization(OnnxGraphBuilder graph, string x, Normalization n, string path)
    {
        if (n.Bgr)
        {
            var order = graph.Int64Initializer(path + ".bgr_order", [2, 1, 0], [3]);
            x = graph.Node("Gather", path + ".bgr", [x, order], OnnxGraphBuilder.Int("axis", 1));
        }
        if (n.Scale != 1f)
            x = graph.Node("Mul", path + ".scaled", [x, graph.Initializer(path + ".scale", [n.Scale], [])]);
        if (n.Mean.Any(m => m != 0f))
            x = graph.Node("Sub", path + ".centred", [x, graph.Initializer(path + ".mean", [.. n.Mean], [1, 3, 1, 1])]);
        if (n.Std.Any(s => s != 1f))
            x = graph.Node("Div", path + ".normalized", [x, graph.Initializer(path + ".std", [.. n.Std], [1, 3, 1, 1])]);
        return x;
    }

    private static string Scalar(OnnxGraphBuilder graph, string name, float value) => graph.Initializer(name, [value], []);

    /// <summary>Emits modules in forward order. Each Emit returns the name of the module's output value.</summary>
    private sealed partial class Walker(OnnxGraphBuilder graph)
    {
        private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

        [GeneratedRegex(@"^(conv|bn)(\d+)$")]
        private static partial Regex BlockLayerName();

        /// <summary>The backbone's pooled features as <see cref="Backbone.PooledStages"/> computes them: for 1 stage the
        /// usual graph; for more, each of the last stages' outputs globally average-pooled, concatenated earlier first.</summary>
        public string EmitPooledStages(Backbone backbone, string path, string x, int stages)
        {
            if (stages == 1) return Emit(backbone, path, x);
            List<string> outputs;
            switch (backbone)
            {
                case ResNetBackbone or TorchVisionResNetBackbone:
                    outputs = [];
                    foreach (var group in new[] { new[] { "conv1", "bn1", "relu", "maxpool" }, ["layer1"], ["layer2"], ["layer3"], ["layer4"] })
                        outputs.Add(x = EmitNamed(backbone, path, x, group));
                    break;
                case TorchVisionMobileNetV2Backbone:
                {
                    var features = backbone.named_children().Single(c => c.name == "features").module;
                    var blocks = features.named_children().ToList();
                    outputs = [];
                    foreach (var group in TorchVisionMobileNetV2Backbone.StageBlocks)
                    {
                        foreach (var i in group) x = Emit(blocks[i].module, Join(Join(path, "features"), blocks[i].name), x);
                        outputs.Add(x);
                    }
                    break;
                }
                default:
                    throw new OnnxExportException($"Cannot export '{path}': pooling {stages} stages of {backbone.GetType().Name} has no ONNX translation.");
            }
            if (outputs.Count != backbone.Stages.Count)
                throw new OnnxExportException($"Cannot export '{path}': {outputs.Count} stages emitted, the backbone has {backbone.Stages.Count}.");
            var pooled = outputs.Skip(outputs.Count - stages)
                .Select((output, i) => GlobalPool(Join(path, $"stage{outputs.Count - stages + i + 1}"), output)).ToList();
            return graph.Node("Concat", Join(path, "pooled_stages"), pooled, OnnxGraphBuilder.Int("axis", 1));
        }

        /// <summary>Emits the named children of <paramref name="module"/> in the given order.</summary>
        private string EmitNamed(nn.Module module, string path, string x, IEnumerable<string> names)
        {
            var children = module.named_children().ToDictionary(c => c.name, c => c.module);
            foreach (var name in names)
                x = Emit(children.TryGetValue(name, out var child) ? child
                    : throw new OnnxExportException($"Cannot export '{path}': {module.GetType().Name} has no child '{name}'."), Join(path, name), x);
            return x;
        }

        public string Emit(nn.Module module, string path, string x)
        {
            switch (module)
            {
                case ResNetBackbone or TorchVisionResNetBackbone:
                    x = Children(module, path, x, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4");
                    return GlobalPool(path, x);
                case TorchVisionMobileNetV2Backbone:
                    return GlobalPool(path, Children(module, path, x, "features"));
                case ClassifierHead:
                    // Its "_dropout" child is the same module that "layers" holds (registered twice): emit "layers" only.
                    return Emit(module.named_children().Single(c => c.name == "layers").module, Join(path, "layers"), x);
                case Sequential:
                    foreach (var (name, child) in module.named_children())
                        x = Emit(child, Join(path, name), x);
                    return x;
                case Conv2d conv:
                    return Conv(conv, path, x);
                case TorchSharp.Modules.BatchNorm bn:
                    return BatchNorm(bn, path, x);
                case ReLU:
                    return graph.Node("Relu", path, [x]);
                case ReLU6:
                    return graph.Node("Clip", path, [x, Scalar(Join(path, "min"), 0f), Scalar(Join(path, "max"), 6f)]);
                case MaxPool2d pool:
                    return MaxPool(pool, path, x);
                case Linear linear:
                    return Gemm(linear, path, x);
                case Dropout or GeneratorDropout:
                    return x; // identity at inference
                default:
                    return module.GetType().Name switch
                    {
                        "BasicBlock" or "Bottleneck" => ResidualBlock(module, path, x),
                        "InvertedResidual" => InvertedResidual(module, path, x),
                        _ => throw new OnnxExportException(
                            $"Cannot export '{path}': module type {module.GetType().FullName} has no ONNX translation."),
                    };
            }
        }

        private string Children(nn.Module module, string path, string x, params string[] names)
        {
            var children = module.named_children().ToDictionary(c => c.name, c => c.module);
            var unexpected = children.Keys.Except(names).ToList();
            if (unexpected.Count > 0)
                throw new OnnxExportException($"Cannot export '{path}': unexpected children {string.Join(", ", unexpected)} of {module.GetType().Name}.");
            foreach (var name in names)
            {
                if (!children.TryGetValue(name, out var child))
                    throw new OnnxExportException($"Cannot export '{path}': {module.GetType().Name} has no child '{name}'.");
                x = Emit(child, Join(path, name), x);
            }
            return x;
        }

        /// <summary>adaptive_avg_pool2d(x, [1,1]).flatten(1): [N,C,H,W] → [N,C].</summary>
        private string GlobalPool(string path, string x)
        {
            var pooled = graph.Node("GlobalAveragePool", Join(path, "avgpool"), [x]);
            return graph.Node("Flatten", Join(path, "flatten"), [pooled], OnnxGraphBuilder.Int("axis", 1));
        }

        /// <summary>ResNet BasicBlock / Bottleneck (this worker's and TorchVision's): conv1–bn1–relu–…–convK–bnK,
        /// plus the input (through downsample when present), then ReLU.</summary>
        private string ResidualBlock(nn.Module block, string path, string x)
        {
            var layers = new SortedDictionary<int, (nn.Module Conv, nn.Module Bn)>();
            nn.Module? downsample = null;
            var convs = new Dictionary<int, nn.Module>();
            var bns = new Dictionary<int, nn.Module>();
            foreach (var (name, child) in block.named_children())
            {
                var match = BlockLayerName().Match(name);
                if (match.Success)
                    (match.Groups[1].Value == "conv" ? convs : bns)[int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)] = child;
                else if (name == "downsample") downsample = child;
                else if (child is not ReLU)
                    throw new OnnxExportException($"Cannot export '{path}': unexpected child '{name}' ({child.GetType().Name}) in a residual block.");
            }
            if (convs.Count == 0 || !convs.Keys.Order().SequenceEqual(bns.Keys.Order()) || !convs.Keys.Order().SequenceEqual(Enumerable.Range(1, convs.Count)))
                throw new OnnxExportException($"Cannot export '{path}': a residual block needs conv1/bn1 … convK/bnK.");

            var y = x;
            for (var k = 1; k <= convs.Count; k++)
            {
                y = Emit(convs[k], Join(path, $"conv{k}"), y);
                y = Emit(bns[k], Join(path, $"bn{k}"), y);
                if (k < convs.Count) y = graph.Node("Relu", Join(path, $"relu{k}"), [y]);
            }
            var identity = downsample is null ? x : Emit(downsample, Join(path, "downsample"), x);
            var sum = graph.Node("Add", Join(path, "add"), [y, identity]);
            return graph.Node("Relu", Join(path, "relu"), [sum]);
        }

        /// <summary>MobileNetV2's InvertedResidual: conv(x), plus x when the block keeps shape (use_res_connect).</summary>
        private string InvertedResidual(nn.Module block, string path, string x)
        {
            var field = block.GetType().GetField("use_res_connect", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
                ?? throw new OnnxExportException($"Cannot export '{path}': {block.GetType().FullName} has no use_res_connect field.");
            var residual = (bool)field.GetValue(block)!;
            var y = Children(block, path, x, "conv");
            return residual ? graph.Node("Add", Join(path, "add"), [x, y]) : y;
        }

        private string Conv(Conv2d conv, string path, string x)
        {
            if (conv.padding_mode != PaddingModes.Zeros)
                throw new OnnxExportException($"Cannot export '{path}': padding mode {conv.padding_mode} (only zeros).");
            long[] pads;
            if (conv.padding is { } padding)
                pads = [.. padding, .. padding];
            else if (conv.padding_type == Padding.Valid)
                pads = [0, 0, 0, 0];
            else
            {
                // 'same' (stride 1): total = dilation × (kernel − 1), the smaller half before.
                var total = conv.kernel_size.Select((k, i) => conv.dilation[i] * (k - 1)).ToArray();
                pads = [total[0] / 2, total[1] / 2, total[0] - total[0] / 2, total[1] - total[1] / 2];
            }
            var inputs = new List<string> { x, graph.Initializer(Join(path, "weight"), conv.weight) };
            if (conv.bias is { } bias) inputs.Add(graph.Initializer(Join(path, "bias"), bias));
            return graph.Node("Conv", path, inputs,
                OnnxGraphBuilder.Ints("kernel_shape", conv.kernel_size),
                OnnxGraphBuilder.Ints("strides", conv.stride),
                OnnxGraphBuilder.Ints("pads", pads),
                OnnxGraphBuilder.Ints("dilations", conv.dilation),
                OnnxGraphBuilder.Int("group", conv.groups));
        }

        private string BatchNorm(TorchSharp.Modules.BatchNorm bn, string path, string x)
        {
            var mean = bn.running_mean ?? throw new OnnxExportException($"Cannot export '{path}': BatchNorm2d without running statistics.");
            var variance = bn.running_var ?? throw new OnnxExportException($"Cannot export '{path}': BatchNorm2d without running statistics.");
            var channels = mean.shape[0];
            var weight = bn.weight is { } w ? graph.Initializer(Join(path, "weight"), w) : graph.Initializer(Join(path, "weight"), Enumerable.Repeat(1f, (int)channels).ToArray(), [channels]);
            var bias = bn.bias is { } b ? graph.Initializer(Join(path, "bias"), b) : graph.Initializer(Join(path, "bias"), new float[channels], [channels]);
            return graph.Node("BatchNormalization", path,
                [x, weight, bias, graph.Initializer(Join(path, "running_mean"), mean), graph.Initializer(Join(path, "running_var"), variance)],
                OnnxGraphBuilder.Float("epsilon", (float)bn.eps));
        }

        private string MaxPool(MaxPool2d pool, string path, string x)
        {
            var kernel = pool.kernel_size;
            var stride = pool.stride ?? kernel;
            var padding = pool.padding ?? [0, 0];
            var dilation = pool.dilation ?? [1, 1];
            return graph.Node("MaxPool", path, [x],
                OnnxGraphBuilder.Ints("kernel_shape", kernel),
                OnnxGraphBuilder.Ints("strides", stride),
                OnnxGraphBuilder.Ints("pads", [.. padding, .. padding]),
                OnnxGraphBuilder.Ints("dilations", dilation),
                OnnxGraphBuilder.Int("ceil_mode", pool.ceil_mode ? 1 : 0));
        }

        /// <summary>Linear: y = x Wᵀ + b as Gemm(x, W, b, transB = 1).</summary>
        private string Gemm(Linear linear, string path, string x)
        {
            var inputs = new List<string> { x, graph.Initializer(Join(path, "weight"), linear.weight) };
            if (linear.bias is { } bias) inputs.Add(graph.Initializer(Join(path, "bias"), bias));
            return graph.Node("Gemm", path, inputs, OnnxGraphBuilder.Int("transB", 1));
        }

        private string Scalar(string name, float value) => graph.Initializer(name, [value], []);
    }
}
