using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Api;

namespace TransferHub.Web.Bench;

/// <summary>
/// The product as a user's script meets it: the real worker as a child process (<c>gpu-worker/bin/Release</c>, built
/// first: <c>dotnet build gpu-worker -c Release</c>) on a free loopback port, and the real web app in this process on
/// Kestrel (real HTTP on another port) with its seeded Fashion sample, a temporary database and storage, and a personal
/// access token of the sample's demo account. Everything is deleted on dispose.
/// </summary>
public sealed class ProductHarness : IAsyncDisposable
{
    public const string WorkerToken = "bench-worker-token-0123456789";
    private readonly StringBuilder _workerOutput = new();
    private Process? _worker;
    private WebFactory? _web;

    private ProductHarness(string folder) => Folder = folder;

    public string Folder { get; }
    public Uri WorkerAddress { get; private set; } = null!;
    public Uri WebAddress { get; private set; } = null!;
    /// <summary>An API client of the demo account (bearer token).</summary>
    public HttpClient Api { get; private set; } = null!;
    public int WorkerPid => _worker!.Id;
    public int SampleDatasetId { get; private set; }

    public static async Task<ProductHarness> StartAsync(IReadOnlyDictionary<string, string>? workerSettings = null)
    {
        var harness = new ProductHarness(Path.Combine(Path.GetTempPath(), "transferhub-product-bench-" + Environment.ProcessId));
        Directory.CreateDirectory(harness.Folder);
        try
        {
            await harness.StartWorkerAsync(workerSettings ?? new Dictionary<string, string>());
            await harness.StartWebAsync();
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    private async Task StartWorkerAsync(IReadOnlyDictionary<string, string> settings)
    {
        var root = RepoRoot();
        var dll = Path.Combine(root, "gpu-worker", "bin", "Release", "net10.0", "TransferHub.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the worker first: dotnet build gpu-worker -c Release ({dll} is missing).");
        WorkerAddress = FreeLoopbackAddress();
        var data = Path.Combine(Folder, "worker");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.Combine(root, "gpu-worker"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Worker__Name"] = "bench-worker";
        start.Environment["Worker__Port"] = WorkerAddress.Port.ToString();
        start.Environment["Worker__Token"] = WorkerToken;
        start.Environment["Worker__DataFolder"] = data;
        start.Environment["Worker__WeightsFolder"] = Path.Combine(data, "weights");
        start.Environment["Worker__Device"] = "Cpu";
        foreach (var (key, value) in settings) start.Environment[key] = value;
        _worker = Process.Start(start)!;
        _worker.OutputDataReceived += (_, e) => { lock (_workerOutput) _workerOutput.AppendLine(e.Data); };
        _worker.ErrorDataReceived += (_, e) => { lock (_workerOutput) _workerOutput.AppendLine(e.Data); };
        _worker.BeginOutputReadLine();
        _worker.BeginErrorReadLine();
        await WaitAsync("the worker", () => Task.FromResult(WorkerOutput.Contains("Now listening on")), TimeSpan.FromSeconds(120));
    }

    public string WorkerOutput
    {
        get { lock (_workerOutput) return _workerOutput.ToString(); }
    }

    private async Task StartWebAsync()
    {
        WebAddress = FreeLoopbackAddress();
        _web = new WebFactory(this);
        _web.UseKestrel(WebAddress.Port);
        _web.StartServer();
        // The sample is seeded at start: wait for the demo account, then make its token.
        using var scope = _web.Services.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        ApplicationUser? demo = null;
        await WaitAsync("the sample", async () => (demo = await users.FindByEmailAsync("demo@transferhub.local")) is not null, TimeSpan.FromSeconds(120));
        var token = await scope.ServiceProvider.GetRequiredService<PersonalAccessTokenService>().CreateAsync(demo!.Id, "bench", null);
        Api = new HttpClient { BaseAddress = new Uri(WebAddress, "api/v1/"), Timeout = TimeSpan.FromMinutes(10) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        await WaitAsync("the sample dataset", async () =>
        {
            var projects = await GetJsonAsync("projects");
            foreach (var project in projects.EnumerateArray())
                foreach (var dataset in (await GetJsonAsync($"projects/{project.GetProperty("id").GetInt32()}/datasets")).EnumerateArray())
                    if (dataset.GetProperty("images").GetInt32() > 0 && dataset.GetProperty("testSplitFrozen").GetBoolean()) // the seeder freezes last
                    {
                        SampleDatasetId = dataset.GetProperty("id").GetInt32();
                        return true;
                    }
            return false;
        }, TimeSpan.FromSeconds(120));
    }

    /// <summary>Runs <paramref name="action"/> in a scope of the web app's services (e.g. to read the database).</summary>
    public async Task<T> InWebAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = _web!.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Api.GetAsync(path);
        return await JsonAsync(response);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Launches one run on the sample dataset with <paramref name="settingsJson"/> and waits until it is no longer
    /// active; returns the run's id and its final JSON.</summary>
    /// <param name="whileRunning">Called about every 100 ms while the run is active (e.g. to sample the worker's memory).</param>
    public async Task<(int Id, JsonElement Job)> TrainAsync(string settingsJson, Action? whileRunning = null)
    {
        using var launched = await Api.PostAsync($"datasets/{SampleDatasetId}/jobs", new StringContent(settingsJson, Encoding.UTF8, "application/json"));
        var id = (await JsonAsync(launched)).GetProperty("ids")[0].GetInt32();
        var deadline = DateTime.UtcNow.AddMinutes(20);
        JsonElement job;
        var lastPoll = DateTime.MinValue;
        while (true)
        {
            whileRunning?.Invoke();
            if (DateTime.UtcNow - lastPoll > TimeSpan.FromMilliseconds(500))
            {
                lastPoll = DateTime.UtcNow;
                job = await GetJsonAsync($"jobs/{id}");
                if (!job.GetProperty("isActive").GetBoolean()) break;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run {id} did not finish within 20 minutes.");
            if (_worker!.HasExited) throw new InvalidOperationException($"The worker exited ({_worker.ExitCode}):\n{WorkerOutput}");
            await Task.Delay(100);
        }
        if (job.GetProperty("status").GetString() != "completed") throw new InvalidOperationException($"Run {id} ended {job}");
        return (id, job);
    }

    /// <summary>The worker process's resident set and its peak (kernel's VmRSS and VmHWM), in MiB.</summary>
    public (double Rss, double Peak) WorkerMemory()
    {
        double Read(string[] lines, string key) =>
            double.Parse(lines.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        var lines = File.ReadAllLines($"/proc/{WorkerPid}/status");
        return (Read(lines, "VmRSS:"), Read(lines, "VmHWM:"));
    }

    /// <summary>Resets the worker's VmHWM to its current RSS (Linux: "5" into /proc/PID/clear_refs); false where refused.</summary>
    public bool ResetWorkerPeak()
    {
        try
        {
            File.WriteAllText($"/proc/{WorkerPid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WaitAsync(string what, Func<Task<bool>> ready, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                if (await ready()) return;
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what} was not ready within {patience.TotalSeconds:F0} s.");
            await Task.Delay(200);
        }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TransferHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Not inside the repository.");
    }

    private static Uri FreeLoopbackAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
    }

    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (_web is not null) await _web.DisposeAsync();
        if (_worker is { HasExited: false })
        {
            _worker.Kill(entireProcessTree: true);
            await _worker.WaitForExitAsync();
        }
        _worker?.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>The web app's own Program with the bench's settings: the seeded sample (shipped defaults), the worker above
    /// as its local one, a quick scheduler, warnings-only logs.</summary>
    private sealed class WebFactory(ProductHarness harness) : WebApplicationFactory<WebOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var web = Path.Combine(harness.Folder, "web");
            builder.UseEnvironment("Development");
            builder.UseContentRoot(Path.Combine(RepoRoot(), "web"));
            builder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            builder.UseSetting("ConnectionStrings:TransferHub", $"Data Source={Path.Combine(web, "web.db")}");
            builder.UseSetting("Storage:Root", Path.Combine(web, "storage"));
            builder.UseSetting("Workers:Local:Name", "bench-worker");
            builder.UseSetting("Workers:Local:Address", harness.WorkerAddress.ToString());
            builder.UseSetting("Workers:Local:Token", WorkerToken);
            builder.UseSetting("Jobs:PollSeconds", "0.2");
            builder.UseSetting("Sample:Enabled", "true");
            builder.UseSetting("Sample:Folder", Path.Combine(RepoRoot(), "samples", "fashion-mnist"));
        }
    }
}
