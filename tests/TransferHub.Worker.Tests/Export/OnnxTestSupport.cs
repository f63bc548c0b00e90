using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using ModelMetadata = TransferHub.Worker.Engine.Training.ModelMetadata;
using TransferHub.Imaging;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Export;

/// <summary>Builds test classifiers, runs them in TorchSharp the way <c>Predictor</c> does, and runs their ONNX
/// export in ONNX Runtime with every graph optimisation on.</summary>
internal static class OnnxTestSupport
{
    public static readonly string PhotosFolder = Path.Combine(AppContext.BaseDirectory, "TestData", "photos");
    public static readonly string[] PhotoNames = ["astronaut.jpg", "chelsea.jpg", "coffee.png"];

    public static BackboneArchitecture Architecture(string id) => id switch
    {
        "resnet18x3" => BackboneArchitecture.ResNet18x3,
        "resnet18" => BackboneArchitecture.ResNet18,
        "resnet34" => BackboneArchitecture.ResNet34,
        "resnet50" => BackboneArchitecture.ResNet50,
        "mobilenet_v2" => BackboneArchitecture.MobileNetV2,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, null),
    };

    /// <summary>A random-init backbone of the architecture whose BatchNorm layers have non-trivial statistics and
    /// affine parameters (fresh ones are the identity, which would hide a wrong BatchNormalization translation).</summary>
    public static Backbone RandomBackbone(string id, int seed)
    {
        var architecture = Architecture(id);
        return TorchRandom.Seeded(seed, () =>
        {
            var backbone = architecture.Build(architecture.Describe($"{id}-random", id, "random initialisation (test)", false, Normalization.ImageNet));
            using var noGrad = torch.no_grad();
            foreach (var (_, module) in backbone.named_modules())
            {
                if (module is not TorchSharp.Modules.BatchNorm2d bn) continue;
                var c = bn.running_mean!.shape[0];
                bn.running_mean.copy_(torch.rand(c).mul_(0.2).sub_(0.1));
                bn.running_var!.copy_(torch.rand(c).add_(0.5));
                bn.weight!.copy_(torch.rand(c).mul_(0.5).add_(0.5));
                bn.bias!.copy_(torch.rand(c).mul_(0.2).sub_(0.1));
            }
            return backbone;
        });
    }

    public static ClassifierModel Classifier(Backbone backbone, int classes, int hiddenUnits, int seed)
    {
        var head = TorchRandom.Seeded(seed, () => new ClassifierHead(backbone.Descriptor.FeatureDim, classes, hiddenUnits, 0.2f));
        var model = new ClassifierModel(backbone, head);
        model.eval();
        return model;
    }

    public static ModelMetadata Metadata(Backbone backbone, IReadOnlyList<string> classes, int size, ResizeMode resize,
        int hiddenUnits = 0, bool frozen = false, string modelId = "test-model") => new()
    {
        ModelId = modelId,
        JobId = "job-1",
        Backbone = backbone.Descriptor.Name,
        BackboneDisplayName = backbone.Descriptor.DisplayName,
        BackboneWeightsSha256 = backbone.WeightsSha256,
        BackboneFrozen = frozen,
        ClassNames = classes,
        ImageSize = size,
        Resize = resize,
        Normalization = backbone.Descriptor.Normalization,
        HiddenUnits = hiddenUnits,
        Dropout = 0.2f,
        Mode = frozen ? "FeatureExtraction" : "FineTune",
        BestEpoch = 1,
        Accuracy = 0.5f,
        EvaluatedSplit = "Test",
        DatasetVersion = "dsv-123",
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    /// <summary>Scales the head's last Linear so that the largest |logit| on <paramref name="rgbImages"/> is
    /// <paramref name="target"/>: trained classifiers score in that range, random ones near 0 (which would make any
    /// softmax look right).</summary>
    public static void ScaleLogits(ClassifierModel model, TransformPipeline pipeline, IReadOnlyList<byte[]> rgbImages, float target)
    {
        var (_, logits) = Torch(model, pipeline, rgbImages);
        var factor = target / logits.Max(Math.Abs);
        var last = model.Head.modules().OfType<TorchSharp.Modules.Linear>().Last();
        using var noGrad = torch.no_grad();
        last.weight.mul_(factor);
        last.bias?.mul_(factor);
    }

    /// <summary>N rendered images (RGB bytes, HWC): random pixels, or the test photos through the deterministic pipeline.</summary>
    public static List<byte[]> Images(bool photos, int count, TransformPipeline pipeline, int seed)
    {
        var images = new List<byte[]>();
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            if (photos)
            {
                using var decoded = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(PhotosFolder, PhotoNames[i % PhotoNames.Length])), "photo");
                images.Add(pipeline.Render(decoded, null));
            }
            else
            {
                var rgb = new byte[pipeline.Size * pipeline.Size * 3];
                random.NextBytes(rgb);
                images.Add(rgb);
            }
        }
        return images;
    }

    /// <summary>The exported graph's input: float32 [N,3,S,S] RGB planes of 0–255.</summary>
    public static float[] OnnxInput(IReadOnlyList<byte[]> rgbImages, int size)
    {
        var n = size * size;
        var input = new float[rgbImages.Count * 3 * n];
        for (var b = 0; b < rgbImages.Count; b++)
            for (var c = 0; c < 3; c++)
                for (var i = 0; i < n; i++)
                    input[(b * 3 + c) * n + i] = rgbImages[b][i * 3 + c];
        return input;
    }

    /// <summary>The images as the transform pipeline renders them for the network: [count,3,S,S] normalised, row-major.</summary>
    public static float[] Normalized(TransformPipeline pipeline, IReadOnlyList<byte[]> rgbImages)
    {
        var n = 3 * pipeline.Size * pipeline.Size;
        var chw = new float[rgbImages.Count * n];
        for (var b = 0; b < rgbImages.Count; b++) pipeline.Normalize(rgbImages[b], chw.AsSpan(b * n, n));
        return chw;
    }

    /// <summary>What <c>Predictor</c> computes: the pipeline's normalisation, then <see cref="ClassifierModel.Probabilities"/>
    /// (softmax of model.forward divided by the model's temperature); the logits are model.forward's.</summary>
    public static (float[] Probabilities, float[] Logits) Torch(ClassifierModel model, TransformPipeline pipeline, IReadOnlyList<byte[]> rgbImages)
    {
        var size = pipeline.Size;
        var chw = Normalized(pipeline, rgbImages);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = torch.tensor(chw, [rgbImages.Count, 3, size, size]);
        var logits = model.forward(input);
        var probabilities = model.Probabilities(input);
        return (probabilities.data<float>().ToArray(), logits.data<float>().ToArray());
    }

    /// <summary>The backbone's pooled features of each image and of its horizontal flip, as auto mode caches them.</summary>
    public static (List<float[]> Plain, List<float[]> Flipped) Features(Backbone backbone, TransformPipeline pipeline, IReadOnlyList<byte[]> rgbImages,
        int pooledStages = 1)
    {
        var size = pipeline.Size;
        var chw = Normalized(pipeline, rgbImages);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = torch.tensor(chw, [rgbImages.Count, 3, size, size]);
        var dim = backbone.PooledDim(pooledStages);
        var plain = backbone.PooledStages(input, pooledStages).data<float>().ToArray();
        var flipped = backbone.PooledStages(input.flip(3), pooledStages).data<float>().ToArray();
        return ([.. Enumerable.Range(0, rgbImages.Count).Select(i => plain.AsSpan(i * dim, dim).ToArray())],
            [.. Enumerable.Range(0, rgbImages.Count).Select(i => flipped.AsSpan(i * dim, dim).ToArray())]);
    }

    /// <summary>A model as auto mode makes it: the named candidate of <see cref="Candidate.DefaultGrid"/> fitted on the
    /// features of <paramref name="trainImages"/> (both views, image i labelled i mod classes), loaded into a linear head
    /// with its feature preprocessing and the test-time flip (<see cref="AutopilotTrainer.LoadHead"/>).</summary>
    public static ClassifierModel AutoStyle(Backbone backbone, int classes, string candidate, TransformPipeline pipeline,
        IReadOnlyList<byte[]> trainImages, int seed, int pooledStages = 1)
    {
        backbone.eval(); // features with BatchNorm's running statistics, which also stay untouched
        var (plain, flipped) = Features(backbone, pipeline, trainImages, pooledStages);
        var blocks = backbone.PooledWidths(pooledStages);
        var set = new FeatureSet(plain, flipped, [.. trainImages.Select((_, i) => i % classes)], classes, blocks);
        var fitted = Candidate.DefaultGrid(imbalanced: false, pooledStages).Single(c => c.Name == candidate)
            .Fit(set, [.. Enumerable.Range(0, set.Count)], useFlips: true);
        var head = TorchRandom.Seeded(seed, () => new ClassifierHead(fitted.Weights.Dim, classes, 0, 0.2f));
        var model = new ClassifierModel(backbone, head);
        model.eval();
        AutopilotTrainer.LoadHead(model, fitted);
        return model;
    }

    public static InferenceSession Session(byte[] onnx)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        return new InferenceSession(onnx, options);
    }

    public static (float[] Probabilities, float[] Logits) Onnx(InferenceSession session, float[] input, int batch, int size)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, 3, size, size]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [OnnxExporter.InputName], [value], [OnnxExporter.ProbabilitiesName, OnnxExporter.LogitsName]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    public static byte[] Export(ClassifierModel model, ModelMetadata metadata, IReadOnlyDictionary<string, string>? extra = null) =>
        OnnxExporter.Build(model, metadata, extra).ToByteArray();

    public static float MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
