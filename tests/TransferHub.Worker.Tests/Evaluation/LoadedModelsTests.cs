using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TransferHub.Imaging;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Export;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using ResizeMode = TransferHub.Worker.Engine.Transforms.ResizeMode;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Evaluation;

/// <summary>Predict keeps models loaded (issue 16 goal 5, ADR 031): by the model file's content, within a byte limit, and a
/// frozen model's backbone runs on ONNX Runtime with Predict's answers those of the whole TorchSharp model.</summary>
[Collection(WorkerCollection.Name)]
public sealed class LoadedModelsTests(WorkerFactory worker)
{
    private const int Size = 64;
    private const string Backbone = "resnet18x3-imagenet";

    private BackboneRegistry Registry => worker.Services.GetRequiredService<BackboneRegistry>();
    private ModelStore Store => worker.Services.GetRequiredService<ModelStore>();

    [Fact]
    public async Task ASecondPredictOfTheSameModelAnswersFromTheLoadedModelWithoutReadingItAgain()
    {
        var id = "loaded-" + Guid.NewGuid().ToString("N")[..8];
        using (var model = FrozenModel(classes: 3, seed: 5)) Save(id, model, ["cat", "cup", "rocket"]);
        var loaded = worker.Services.GetRequiredService<Predictor>().Loaded;
        var client = worker.Client();
        var request = new PredictRequest { ModelId = id, Image = ByteString.CopyFrom(TestImages.Photo("chelsea.jpg")), TopK = 3 };

        var loadsBefore = loaded.Loads;
        var first = await client.PredictAsync(request);
        Assert.Equal(loadsBefore + 1, loaded.Loads);
        var hitsBefore = loaded.Hits;
        var second = await client.PredictAsync(request);

        Assert.Equal(loadsBefore + 1, loaded.Loads); // not read again
        Assert.Equal(hitsBefore + 1, loaded.Hits);
        // The same answer (ONNX Runtime's threads may sum in another order: the last digits may differ).
        Assert.Equal(first.Top.Select(t => t.ClassName), second.Top.Select(t => t.ClassName));
        Assert.Equal(first.Top.Select(t => t.Probability), second.Top.Select(t => t.Probability), (x, y) => Math.Abs(x - y) < 1e-6f);
    }

    [Fact]
    public async Task AModelUploadedAgainUnderItsIdIsLoadedAfreshNotAnsweredByTheOldOne()
    {
        var id = "reuploaded-" + Guid.NewGuid().ToString("N")[..8];
        var client = worker.Client();
        var image = ByteString.CopyFrom(TestImages.Photo("chelsea.jpg"));
        using (var model = FrozenModel(classes: 2, seed: 1)) await UploadAsync(client, id, model, ["cat", "dog"]);
        var before = await client.PredictAsync(new PredictRequest { ModelId = id, Image = image, TopK = 5 });
        Assert.Equal(["cat", "dog"], before.Top.Select(t => t.ClassName).Order());

        using (var model = FrozenModel(classes: 3, seed: 2)) await UploadAsync(client, id, model, ["cup", "rocket", "tree"]);
        var after = await client.PredictAsync(new PredictRequest { ModelId = id, Image = image, TopK = 5 });

        Assert.Equal(["cup", "rocket", "tree"], after.Top.Select(t => t.ClassName).Order());
    }

    [Fact]
    public void AnEvictedModelIsLoadedAgainAndPredictsExactlyAsBefore()
    {
        var runtime = worker.Services.GetRequiredService<TorchRuntime>();
        // A 1-byte limit keeps only the model in use.
        using var predictor = new Predictor(Store, Registry, runtime, 64_000_000, maxLoadedBytes: 1);
        var (a, b) = ("evict-a-" + Guid.NewGuid().ToString("N")[..8], "evict-b-" + Guid.NewGuid().ToString("N")[..8]);
        using (var model = FrozenModel(classes: 3, seed: 7)) Save(a, model, ["cat", "cup", "rocket"]);
        using (var model = FineTunedStyleModel(classes: 2, seed: 8)) Save(b, model, ["day", "night"], frozen: false);
        var photo = TestImages.Photo("astronaut.jpg");

        var first = predictor.Predict(a, photo, 3);
        var other = predictor.Predict(b, photo, 2);
        var again = predictor.Predict(a, photo, 3);

        Assert.Equal((3L, 2L, 1), (predictor.Loaded.Loads, predictor.Loaded.Evictions, predictor.Loaded.Count));
        Assert.Equal(["day", "night"], other.Top.Select(t => t.ClassName).Order());
        Assert.Equal(first.Top.Select(t => t.ClassName), again.Top.Select(t => t.ClassName));
        Assert.Equal(first.Top.Select(t => t.Probability), again.Top.Select(t => t.Probability), (x, y) => Math.Abs(x - y) < 1e-6f);
    }

    /// <summary>ONNX Runtime runs a frozen model's backbone in Predict; its calibrated probabilities must be those of the
    /// whole TorchSharp model on the same input (features agree within 1e-4, ADR 020), for a linear head and for an
    /// auto-style model (two pooled stages, standardised features, the test-time flip) at T ≠ 1.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PredictOfAFrozenModelOnOnnxRuntimeGivesTheTorchSharpModelsProbabilities(bool autoStyle)
    {
        var id = (autoStyle ? "parity-auto-" : "parity-fe-") + Guid.NewGuid().ToString("N")[..8];
        string[] classes = ["cat", "cup", "rocket", "tree"];
        using var model = FrozenModel(classes.Length, seed: 3, pooledStages: autoStyle ? 2 : 1);
        if (autoStyle)
        {
            model.FeaturePreprocessing = FeaturePreprocessing.Standardise(
                [Enumerable.Range(0, 768).Select(i => 0.1f * (i % 7)).ToArray(), Enumerable.Range(0, 768).Select(i => 0.5f + 0.2f * (i % 5)).ToArray()]);
            model.TestTimeFlip = true;
        }
        model.Temperature = 1.7;
        OnnxTestSupport.ScaleLogits(model, Pipeline(model), OnnxTestSupport.Images(photos: true, 3, Pipeline(model), seed: 0), 6f);
        Save(id, model, classes, autoStyle: autoStyle);
        var predictor = worker.Services.GetRequiredService<Predictor>();
        foreach (var name in OnnxTestSupport.PhotoNames)
        {
            var photo = TestImages.Photo(name);
            float[] expected;
            using (var decoded = ImageDecoder.Decode(photo, name))
            using (var scope = torch.NewDisposeScope())
            using (torch.no_grad())
            {
                var pixels = new float[3 * Size * Size];
                Pipeline(model).Apply(decoded, null, pixels);
                expected = model.Probabilities(torch.tensor(pixels, [1, 3, Size, Size])).data<float>().ToArray();
            }

            var predicted = predictor.Predict(id, photo, classes.Length);

            Assert.Equal(1.7, predicted.Temperature);
            Assert.All(predicted.Top, p => Assert.InRange(p.Probability, expected[p.ClassIndex] - 1e-4f, expected[p.ClassIndex] + 1e-4f));
            Assert.Equal(Array.IndexOf(expected, expected.Max()), predicted.Top[0].ClassIndex);
        }
    }

    private static TransformPipeline Pipeline(ClassifierModel model) =>
        new(Size, ResizeMode.Squash, AugmentationOptions.None, model.Backbone.Descriptor.Normalization);

    private ClassifierModel FrozenModel(int classes, int seed, int pooledStages = 1)
    {
        var backbone = Registry.Create(Backbone);
        var head = TorchRandom.Seeded(seed, () => new ClassifierHead(backbone.PooledDim(pooledStages), classes, hiddenUnits: 0, dropout: 0f));
        var model = new ClassifierModel(backbone, head) { PooledStages = pooledStages };
        model.Freeze(-1);
        model.eval();
        return model;
    }

    /// <summary>A model whose whole state is saved (as a fine-tune's is): Predict runs it in TorchSharp.</summary>
    private ClassifierModel FineTunedStyleModel(int classes, int seed)
    {
        var backbone = TorchRandom.Seeded(seed, () => Registry.Create("resnet18x3-random"));
        return OnnxTestSupport.Classifier(backbone, classes, hiddenUnits: 0, seed);
    }

    private ModelMetadata Metadata(string id, ClassifierModel model, IReadOnlyList<string> classes, bool frozen, bool autoStyle) =>
        OnnxTestSupport.Metadata(model.Backbone, classes, Size, ResizeMode.Squash, frozen: frozen, modelId: id) with
        {
            PooledStages = model.PooledStages,
            FeaturePreprocessing = model.FeaturePreprocessing,
            TestTimeAugmentation = autoStyle ? ModelArtifact.HorizontalFlipTta : null,
            Temperature = model.Temperature,
        };

    private void Save(string id, ClassifierModel model, IReadOnlyList<string> classes, bool frozen = true, bool autoStyle = false) =>
        Store.Save(id, s => ModelArtifact.Save(s, model, Metadata(id, model, classes, frozen, autoStyle)));

    private async Task UploadAsync(WorkerService.WorkerServiceClient client, string id, ClassifierModel model, IReadOnlyList<string> classes)
    {
        using var artifact = new MemoryStream();
        ModelArtifact.Save(artifact, model, Metadata(id, model, classes, frozen: true, autoStyle: false));
        using var upload = client.UploadModel();
        await upload.RequestStream.WriteAsync(new UploadModelRequest { ModelId = id, Data = ByteString.CopyFrom(artifact.ToArray()) });
        await upload.RequestStream.CompleteAsync();
        await upload;
    }
}
