using System.Diagnostics;

namespace TransferHub.Worker.Tests.Infrastructure;

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
