using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Tests.Backbones;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Export;

/// <summary>
/// Opt-in (issue 12 §4): ONNX files written by PyTorch's own <c>torch.onnx.export</c> (TestData/pytorch/
/// torch_onnx_export.py: eval mode, opset 17, BatchNorm folded into the convolutions, generated initializer names,
/// dynamic batch) load from the weights folder into the worker's TorchVision architectures and compute PyTorch's own
/// pooled features. Runs where Debian's <c>python3-torch</c> and <c>python3-torchvision</c> are installed
/// (<see cref="PyTorchFactAttribute"/>); CI does not install them, so there it is skipped with the reason.
/// </summary>
[Collection(BackbonesCollection.Name)]
public sealed class PyTorchOnnxImportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _weights = TempFolder.Create();
    private readonly TempFolder _noPretrained = TempFolder.Create();

    public void Dispose()
    {
        _weights.Dispose();
        _noPretrained.Dispose();
    }

    [PyTorchTheory]
    [InlineData("resnet18", 512)]
    [InlineData("resnet34", 512)]
    [InlineData("resnet50", 2048)]
    [InlineData("mobilenet_v2", 1280)]
    public void AFileTorchOnnxExportWroteComputesPyTorchsOwnFeatures(string architecture, int featureDim)
    {
        const int batch = 2, size = 64;
        PyTorch.Run(Path.Combine(AppContext.BaseDirectory, "TestData", "pytorch", "torch_onnx_export.py"),
            architecture, _weights.Path, "--size", $"{size}", "--batch", $"{batch}");
        var input = ReadFloats(Path.Combine(_weights.Path, $"{architecture}.input.f32"));
        var expected = ReadFloats(Path.Combine(_weights.Path, $"{architecture}.features.f32"));
        Assert.Equal(batch * 3 * size * size, input.Length);
        Assert.Equal(batch * featureDim, expected.Length);

        var registry = BackboneRegistry.Create(_weights.Path, _noPretrained.Path, NullLogger.Instance);
        var descriptor = Assert.Single(registry.Descriptors, d => d.Name == $"{architecture}-pytorch");
        Assert.Null(descriptor.Error);
        using var loaded = registry.Create(descriptor.Name);
        var actual = BackboneAssert.Features(loaded, input, [batch, 3, size, size]);

        var delta = BackboneAssert.MaxAbsDifference(expected, actual);
        var scale = expected.Max(Math.Abs);
        output.WriteLine($"{architecture} from torch.onnx.export: max |Δ feature| = {delta:E2}, max |feature| = {scale:F3}");
        Assert.True(delta <= 1e-4f * Math.Max(1f, scale), $"max |Δ| {delta} for features up to {scale}");
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}

/// <summary>Debian's PyTorch (<c>/usr/bin/python3</c> with <c>torch</c> and <c>torchvision</c>), probed once.</summary>
public static class PyTorch
{
    /// <summary>The interpreter: <c>TRANSFERHUB_PYTHON</c>, else Debian's <c>/usr/bin/python3</c> (a pyenv or venv
    /// python on the PATH usually lacks Debian's torch).</summary>
    public static string Python => Environment.GetEnvironmentVariable("TRANSFERHUB_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} does not exist";
        try
        {
            var (code, text) = Execute(["-c", "import torch, torchvision; print(torch.__version__)"], TimeSpan.FromSeconds(60));
            return code == 0 ? null : $"{Python} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision): {text.Trim().Split('\n')[^1].Trim()}";
        }
        catch (Exception e)
        {
            return $"{Python} could not be run: {e.Message}";
        }
    });

    /// <summary>Why PyTorch cannot be used here, or null when it can.</summary>
    public static string? WhyMissing => Missing.Value;

    /// <summary>Runs a script; throws with its output when it fails.</summary>
    public static void Run(string script, params string[] arguments)
    {
        var (code, text) = Execute([script, .. arguments], TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(script)} exited with {code}:\n{text}");
    }

    private static (int Code, string Text) Execute(string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>A theory that needs Debian's PyTorch; skipped, with the reason, where it is not installed.</summary>
public sealed class PyTorchTheoryAttribute : TheoryAttribute
{
    public PyTorchTheoryAttribute()
    {
        if (PyTorch.WhyMissing is { } why) Skip = $"Needs PyTorch: {why}.";
    }
}

/// <summary>A fact that needs Debian's PyTorch; skipped, with the reason, where it is not installed.</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (PyTorch.WhyMissing is { } why) Skip = $"Needs PyTorch: {why}.";
    }
}
