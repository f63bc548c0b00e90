using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TransferHub.E2E;

/// <summary>
/// One of the solution's apps run as a real child process from its build output (same configuration as these
/// tests), with a temporary folder of its own, its output kept for failure messages, and killed on dispose.
/// </summary>
public sealed class BuiltProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;
    private readonly string _name;

    private BuiltProcess(string name, Process process)
    {
        _name = name;
        _process = process;
    }

    /// <summary>A fresh temporary folder for the app's data, deleted on dispose.</summary>
    public required string Folder { get; init; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Starts <c>&lt;project&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;assembly&gt;.dll</c> with the environment
    /// that <paramref name="environment"/> builds from the process's temporary folder.</summary>
    public static BuiltProcess Start(string project, string assembly, string workingDirectory, Func<string, IDictionary<string, string>> environment)
    {
        // This test runs from bin/<Configuration>/net10.0: start the app built with the same configuration.
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
        var dll = Path.Combine(RepoRoot(), project, "bin", configuration, "net10.0", assembly + ".dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build {project} first: {dll}");
        return StartDll(project, dll, Path.Combine(RepoRoot(), workingDirectory), environment);
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/></c> (e.g. from a publish folder) in <paramref name="workingDirectory"/>
    /// with the environment that <paramref name="environment"/> builds from the process's temporary folder.</summary>
    public static BuiltProcess StartDll(string name, string dll, string workingDirectory, Func<string, IDictionary<string, string>> environment)
    {
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-e2e", Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment(folder)) start.Environment[key] = value;
        var started = new BuiltProcess(name, Process.Start(start)!) { Folder = folder };
        started._process.OutputDataReceived += (_, e) => { lock (started._output) started._output.AppendLine(e.Data); };
        started._process.ErrorDataReceived += (_, e) => { lock (started._output) started._output.AppendLine(e.Data); };
        started._process.BeginOutputReadLine();
        started._process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Polls <paramref name="ready"/> until it holds; fails with the app's output if it exits or takes over 90 s.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await ready())
        {
            if (_process.HasExited) throw new InvalidOperationException($"{_name} exited ({_process.ExitCode}):\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{_name} was not ready within 90 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TransferHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Not inside the repository.");
    }

    public static Uri FreeLoopbackAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
    }
}
