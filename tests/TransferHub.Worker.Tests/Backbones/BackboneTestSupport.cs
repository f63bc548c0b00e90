using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using static TorchSharp.torch;

namespace TransferHub.Worker.Tests.Backbones;

/// <summary>Backbone tests share torch's global generator (seeded tests) and one parsed ONNX model: they run
/// one after another, never in parallel with each other.</summary>
[CollectionDefinition(Name)]
public sealed class BackbonesCollection : ICollectionFixture<PretrainedResNetFixture>
{
    public const string Name = "Backbones";
}

/// <summary>One registry over the real ResNet18.onnx (parsed once for all tests) and one ONNX Runtime session on
/// the original file.</summary>
public sealed class PretrainedResNetFixture : IDisposable
{
    public PretrainedResNetFixture()
    {
        WeightsFolder = TempFolder.Create();
        var stopwatch = Stopwatch.StartNew();
        Registry = BackboneRegistry.Create(WeightsFolder.Path, PretrainedFolder, NullLogger.Instance);
        RegistryCreation = stopwatch.Elapsed;
        Session = new InferenceSession(OnnxPath);
    }

    public static string PretrainedFolder => Path.Combine(AppContext.BaseDirectory, "pretrained");
    public static string OnnxPath => Path.Combine(PretrainedFolder, BackboneRegistry.PretrainedFileName);

    public TempFolder WeightsFolder { get; }
    public BackboneRegistry Registry { get; }

    /// <summary>How long creating the registry took (parsing and mapping the ONNX file, probing architectures).</summary>
    public TimeSpan RegistryCreation { get; }

    public InferenceSession Session { get; }

    /// <summary>ONNX Runtime's pooled features [512] for one [1,3,224,224] input.</summary>
    public float[] RunOnnx(float[] input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 3, 224, 224]);
        using var runOptions = new RunOptions();
        using var outputs = Session.Run(runOptions, ["Input247"], [value], ["Pooling395_Output_0"]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        Assert.Equal([1L, 512, 1, 1], shape);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose()
    {
        Session.Dispose();
        WeightsFolder.Dispose();
    }
}

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    private TempFolder(string path) => Path = path;

    public string Path { get; }

    public static TempFolder Create()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "transferhub-backbones-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return new TempFolder(path);
    }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

internal static class BackboneAssert
{
    /// <summary>Runs the backbone in eval mode without gradients and returns its features as floats.</summary>
    public static float[] Features(nn.Module<Tensor, Tensor> backbone, float[] input, long[] shape)
    {
        backbone.eval();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var features = backbone.call(torch.tensor(input, shape));
        return features.data<float>().ToArray();
    }

    public static bool Identical(Tensor a, Tensor b)
    {
        using var equal = a.eq(b);
        using var all = equal.all();
        return all.item<bool>();
    }

    public static float MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    /// <summary>Every tensor of the two state_dicts is identical (same keys, shapes and values).</summary>
    public static void SameState(nn.Module expected, nn.Module actual, Func<string, bool>? include = null)
    {
        var want = expected.state_dict().Where(kv => include?.Invoke(kv.Key) ?? true).ToDictionary();
        var got = actual.state_dict();
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (key, tensor) in want)
        {
            Assert.Equal(tensor.shape, got[key].shape);
            Assert.True(Identical(tensor, got[key]), $"{key} differs");
        }
    }
}
