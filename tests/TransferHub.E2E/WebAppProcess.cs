using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TransferHub.E2E;

/// <summary>
/// The real web app as a separate process on a free loopback port, with its own temporary database and storage
/// (development environment, so static assets come from the build output). Its output is kept for failures.
/// </summary>
public sealed class WebAppProcess : IAsyncLifetime
{
    /// <summary>Extra configuration (environment variables, e.g. <c>Workers__Local__Address</c>) set before start.</summary>
    public Dictionary<string, string> Settings { get; } = new()
    {
        ["Workers__Local__Address"] = "", // no local worker unless a test starts one
    };

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "transferhub-e2e", Guid.NewGuid().ToString("N"));
    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri BaseAddress { get; private set; } = default!;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public async Task InitializeAsync()
    {
        var root = RepoRoot();
        // This test runs from bin/<Configuration>/net10.0: start the web app built with the same configuration.
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
        var dll = Path.Combine(root, "web", "bin", configuration, "net10.0", "TransferHub.Web.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the web app first: {dll}");
        var port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.Combine(root, "web"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["ASPNETCORE_URLS"] = BaseAddress.ToString(),
                ["Urls"] = BaseAddress.ToString(),
                ["ConnectionStrings__TransferHub"] = $"Data Source={Path.Combine(_folder, "transferhub.db")}",
                ["Storage__Root"] = Path.Combine(_folder, "storage"),
            },
        };
        foreach (var (key, value) in Settings) start.Environment[key] = value;
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The web app exited ({_process.ExitCode}):\n{Output}");
            try
            {
                if ((await http.GetAsync(BaseAddress)).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The web app did not answer within 90 s:\n{Output}");
            await Task.Delay(250);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TransferHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Not inside the repository.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
