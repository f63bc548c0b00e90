using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TorchSharp;
using TransferHub.Imaging;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Export;
using TransferHub.Worker.Tests.Infrastructure;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Evaluation;

/// <summary>Grad-CAM's arithmetic on the real backbones (no training) and where the overlay puts the map.</summary>
[Collection(WorkerCollection.Name)]
public sealed class GradCamTests(WorkerFactory worker)
{
    private BackboneRegistry Registry => worker.Services.GetRequiredService<BackboneRegistry>();

    /// <summary>With a linear head on globally pooled features, ∂y_k/∂A_c,xy = W[k,c]/(h·w), so Grad-CAM must equal CAM
    /// (Zhou et al. 2016) computed straight from the head's weights: checks the gradient plumbing (the detached leaf, the
    /// frozen backbone) on a ResNet and a TorchVision MobileNetV2.</summary>
    [Theory]
    [InlineData("resnet18x3-imagenet", 64)]
    [InlineData("mobilenet_v2-random", 96)]
    public void WithALinearHeadGradCamIsTheClassActivationMapOfTheHeadsWeights(string backboneName, int size)
    {
        using var model = LinearModel(backboneName, classes: 3, seed: 11);
        using var scope = torch.NewDisposeScope();
        var input = Photo("chelsea.jpg", size, ResizeMode.Squash);

        var result = GradCam.Compute(model, input, [0, 2]);

        Tensor activations;
        using (torch.no_grad())
        {
            var x = input;
            foreach (var stage in model.Backbone.Stages) x = ((nn.Module<Tensor, Tensor>)stage).call(x);
            activations = x[0]; // [C, h, w]
        }
        var weight = model.Head.parameters().First(p => p.ndim == 2); // [classes, C]
        var (h, w) = ((int)activations.shape[1], (int)activations.shape[2]);
        Assert.Equal((h, w, size), (result.MapHeight, result.MapWidth, result.InputSize));
        foreach (var map in result.Maps)
        {
            using var cam = nn.functional.relu((weight[map.ClassIndex].reshape(-1, 1, 1) * activations).sum(dim: 0L) / (h * w));
            var expected = cam.data<float>().ToArray();
            var tolerance = 1e-4f * Math.Max(1e-6f, expected.Max());
            Assert.Equal(h * w, map.Map.Length);
            Assert.All(expected.Zip(map.Map), pair => Assert.InRange(pair.Second, pair.First - tolerance, pair.First + tolerance));
            Assert.Equal(size * size, map.Upsampled.Length);
            Assert.InRange(map.Upsampled.Max(), expected.Max() > 0 ? 1f : 0f, 1f);
            Assert.True(map.Upsampled.Min() >= 0f);
        }
        Assert.NotEqual(result.Maps[0].Map, result.Maps[1].Map);
        using var probabilities = nn.functional.softmax(model.forward(input), 1);
        Assert.Equal(probabilities.data<float>().ToArray(), result.Probabilities, (a, b) => Math.Abs(a - b) < 1e-5f);
        // Nothing trains: the frozen backbone collected no gradients.
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.abs().max().item<float>() == 0));
    }

    /// <summary>Temperature scaling (ADR 022) in Explain: for a model file stating T = 2.5, the probabilities beside the
    /// heatmaps are exactly Predict's calibrated ones (not the plain softmax of the scores), while the maps, the overlays and
    /// the predicted class are those of the same model at T = 1 (the explained score is taken before the temperature).</summary>
    [Fact]
    public void ExplainGivesPredictsCalibratedProbabilitiesAndTheTemperatureLeavesTheMapsAlone()
    {
        const int size = 64;
        string[] classes = ["cat", "cup", "rocket"];
        var store = worker.Services.GetRequiredService<ModelStore>();
        var predictor = worker.Services.GetRequiredService<Predictor>();
        using var model = LinearModel("resnet18x3-imagenet", classes: classes.Length, seed: 11);
        // A random head scores the photo's classes nearly alike, where any temperature looks harmless: scale it so that
        // they lie 6 apart, as a trained head's do.
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            using var image = ImageDecoder.Decode(TestImages.Photo("chelsea.jpg"), "chelsea.jpg");
            var pixels = new float[3 * size * size];
            new TransformPipeline(size, ResizeMode.Squash, AugmentationOptions.None, model.Backbone.Descriptor.Normalization).Apply(image, null, pixels);
            var logits = model.forward(torch.tensor(pixels, [1, 3, size, size])); // the input Predict builds
            var factor = 6f / (logits.max().item<float>() - logits.min().item<float>());
            var last = model.Head.modules().OfType<TorchSharp.Modules.Linear>().Last();
            last.weight.mul_(factor);
            last.bias?.mul_(factor);
        }
        var metadata = OnnxTestSupport.Metadata(model.Backbone, classes, size, ResizeMode.Squash, frozen: true);
        store.Save("gradcam-t-2-5", s => ModelArtifact.Save(s, model, metadata with { ModelId = "gradcam-t-2-5", Temperature = 2.5, TemperatureFittedOn = "validation" }));
        store.Save("gradcam-t-1", s => ModelArtifact.Save(s, model, metadata with { ModelId = "gradcam-t-1" }));
        var photo = TestImages.Photo("chelsea.jpg");
        int[] all = [0, 1, 2];

        var predicted = predictor.Predict("gradcam-t-2-5", photo, topK: classes.Length);
        var explained = predictor.Explain("gradcam-t-2-5", photo, all);
        var plain = predictor.Explain("gradcam-t-1", photo, all);

        Assert.Equal(2.5, predicted.Temperature);
        foreach (var p in predicted.Top)
            Assert.Equal(p.Probability, explained.Classes.Single(c => c.ClassIndex == p.ClassIndex).Probability, 1e-6f);
        Assert.Equal((predicted.Top[0].ClassIndex, predicted.Top[0].ClassName), (explained.PredictedClassIndex, explained.PredictedClassName));
        var shift = explained.Classes.Zip(plain.Classes).Max(pair => Math.Abs(pair.First.Probability - pair.Second.Probability));
        Assert.True(shift > 0.05f, $"T = 2.5 moved the probabilities by only {shift}: the test could not see the plain softmax");
        Assert.Equal(plain.PredictedClassIndex, explained.PredictedClassIndex);
        foreach (var (calibrated, uncalibrated) in explained.Classes.Zip(plain.Classes))
        {
            Assert.Equal(uncalibrated.Map, calibrated.Map);
            Assert.Equal(uncalibrated.Png, calibrated.Png);
            Assert.Equal((uncalibrated.PeakX, uncalibrated.PeakY), (calibrated.PeakX, calibrated.PeakY));
        }
    }

    /// <summary>An auto-mode model (two pooled stages, standardised features, the test-time flip) scores an image and its
    /// mirror image alike, so its explanation of the mirror image must be the mirror of its explanation: true only when the
    /// flipped pass's map is flipped back before it is added.</summary>
    [Fact]
    public void WithTheTestTimeFlipTheMirrorImagesMapIsTheMirroredMap()
    {
        using var model = LinearModel("resnet18x3-imagenet", classes: 2, seed: 3, pooledStages: 2);
        using var scope = torch.NewDisposeScope();
        var input = Photo("astronaut.jpg", 128, ResizeMode.Squash);
        model.FeaturePreprocessing = FeaturePreprocessing.Standardise(
            [Enumerable.Range(0, 768).Select(i => 0.1f * (i % 7)).ToArray(), Enumerable.Range(0, 768).Select(i => 0.2f * (i % 5)).ToArray()]);
        model.TestTimeFlip = true;

        var map = GradCam.Compute(model, input, [1]).Maps[0];
        var mirrored = GradCam.Compute(model, input.flip(3), [1]).Maps[0];

        Assert.Equal(16, map.Map.Length); // 4 × 4 at 128 px
        var flippedBack = Enumerable.Range(0, 16).Select(i => mirrored.Map[i / 4 * 4 + (3 - i % 4)]).ToArray();
        var scale = map.Map.Max();
        Assert.True(scale > 0);
        Assert.All(map.Map.Zip(flippedBack), pair => Assert.InRange(pair.Second, pair.First - 1e-3f * scale, pair.First + 1e-3f * scale));
        // The photo is not symmetric, so this is not trivially true.
        Assert.Contains(Enumerable.Range(0, 16), i => Math.Abs(map.Map[i] - map.Map[i / 4 * 4 + (3 - i % 4)]) > 0.05f * scale);
    }

    /// <summary>A map hot only in the input's top-left quarter lands on the top-left quarter of the whole image when the
    /// run squashes, and on the top-left quarter of the centred square when it crops (the rest of the image dimmed).</summary>
    [Theory]
    [InlineData(ResizeMode.Squash)]
    [InlineData(ResizeMode.CenterCrop)]
    public void TheHeatmapLandsWhereTheResizeModeTookTheInputFrom(ResizeMode resize)
    {
        const int size = 32;
        using var image = DecodedImage.FromRgb(Enumerable.Repeat((byte)128, 200 * 100 * 3).ToArray(), 200, 100);
        var pipeline = new TransformPipeline(size, resize, AugmentationOptions.None, Normalization.ImageNet);
        var map = new float[size * size];
        for (var y = 0; y < size / 2; y++)
            for (var x = 0; x < size / 2; x++) map[y * size + x] = 1f;

        using var png = ImageDecoder.Decode(HeatmapOverlay.Render(image, pipeline, map), "overlay");
        var peak = HeatmapOverlay.Peak(image, pipeline, [1f, 0f, 0f, 0f], rows: 2, columns: 2); // the raw map behind it

        Assert.Equal((200, 100), (png.Width, png.Height));
        var hot = HeatmapOverlay.Viridis(1f);
        bool IsHot((byte R, byte G, byte B) p) => p.R > 180 && p.G > 150 && p.B < 100; // mostly viridis' yellow
        if (resize == ResizeMode.Squash)
        {
            Assert.True(IsHot(png.GetRgb(50, 25)), $"{png.GetRgb(50, 25)} vs {hot}");
            Assert.False(IsHot(png.GetRgb(150, 75)));
            Assert.False(IsHot(png.GetRgb(150, 25)));
            AssertNear((50, 25), peak); // the top-left cell's centre, stretched
        }
        else
        {
            // The centred square is x 50..150; its top-left quarter is x 50..100, y 0..50.
            Assert.True(IsHot(png.GetRgb(75, 25)), $"{png.GetRgb(75, 25)}");
            Assert.False(IsHot(png.GetRgb(25, 25)));
            Assert.False(IsHot(png.GetRgb(125, 75)));
            Assert.True(png.GetRgb(10, 50).R < 100, "outside the crop is dimmed"); // grey 128 under black at 150/255
            AssertNear((75, 25), peak);
        }
    }

    private static void AssertNear((float X, float Y) expected, SKPoint actual)
    {
        Assert.InRange(actual.X, expected.X - 1e-3f, expected.X + 1e-3f);
        Assert.InRange(actual.Y, expected.Y - 1e-3f, expected.Y + 1e-3f);
    }

    private ClassifierModel LinearModel(string backbone, int classes, int seed, int pooledStages = 1)
    {
        torch.manual_seed(seed);
        var net = Registry.Create(backbone);
        var head = new ClassifierHead(net.PooledDim(pooledStages), classes, hiddenUnits: 0, dropout: 0f);
        var model = new ClassifierModel(net, head) { PooledStages = pooledStages };
        model.Freeze(-1);
        model.eval();
        return model;
    }

    /// <summary>A committed photo as the network sees it: [1, 3, size, size] (in the caller's dispose scope).</summary>
    private static Tensor Photo(string name, int size, ResizeMode resize)
    {
        using var image = ImageDecoder.Decode(TestImages.Photo(name), name);
        var pipeline = new TransformPipeline(size, resize, AugmentationOptions.None, Normalization.ImageNet);
        var pixels = new float[3 * size * size];
        pipeline.Apply(image, null, pixels);
        return torch.tensor(pixels, [1, 3, size, size]);
    }
}
