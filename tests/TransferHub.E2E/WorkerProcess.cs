using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TransferHub.E2E;

/// <summary>A real worker process (gpu-worker, CPU) on a free loopback port with a temporary data folder.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    public const string Token = "e2e-worker-token-0123456789";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "transferhub-e2e-worker", Guid.NewGuid().ToString("N"));
    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Address { get; private set; } = default!;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public async Task StartAsync()
    {
        var root = WebAppProcess.RepoRoot();
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
        var dll = Path.Combine(root, "gpu-worker", "bin", configuration, "net10.0", "TransferHub.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the worker first: {dll}");
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            Address = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        }
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Worker__Name"] = "e2e-worker",
                ["Worker__Port"] = Address.Port.ToString(),
                ["Worker__Token"] = Token,
                ["Worker__DataFolder"] = _folder,
                ["Worker__WeightsFolder"] = Path.Combine(_folder, "weights"),
                ["Worker__Device"] = "Cpu",
            },
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!Output.Contains("Now listening on"))
        {
            if (_process.HasExited) throw new InvalidOperationException($"The worker exited ({_process.ExitCode}):\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The worker did not start within 90 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Browser + web app + a real local worker the web app registers at start.</summary>
public sealed class BrowserWithWorkerFixture : IAsyncLifetime
{
    public WorkerProcess Worker { get; } = new();
    public BrowserFixture Browser { get; } = new();

    public async Task InitializeAsync()
    {
        await Worker.StartAsync();
        Browser.App.Settings["Workers__Local__Name"] = "local-worker";
        Browser.App.Settings["Workers__Local__Address"] = Worker.Address.ToString();
        Browser.App.Settings["Workers__Local__Token"] = WorkerProcess.Token;
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Worker.DisposeAsync();
    }
}
