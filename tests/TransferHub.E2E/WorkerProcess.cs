namespace TransferHub.E2E;

/// <summary>A real worker process (gpu-worker, CPU) on a free loopback port with a temporary data folder.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    public const string Token = "e2e-worker-token-0123456789";
    private BuiltProcess? _process;

    public Uri Address { get; } = BuiltProcess.FreeLoopbackAddress();

    public async Task StartAsync()
    {
        _process = BuiltProcess.Start("gpu-worker", "TransferHub.Worker", "gpu-worker", folder => new Dictionary<string, string>
        {
            ["Worker__Name"] = "e2e-worker",
            ["Worker__Port"] = Address.Port.ToString(),
            ["Worker__Token"] = Token,
            ["Worker__DataFolder"] = folder,
            ["Worker__WeightsFolder"] = Path.Combine(folder, "weights"),
            ["Worker__Device"] = "Cpu",
        });
        await _process.WaitUntilAsync(() => Task.FromResult(_process.Output.Contains("Now listening on")));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
    }
}

/// <summary>Browser + web app + a real worker process. Subclasses say how the web app is configured (by default it
/// registers the worker as its local one).</summary>
public abstract class BrowserAndWorkerFixture : IAsyncLifetime
{
    public WorkerProcess Worker { get; } = new();
    public BrowserFixture Browser { get; } = new();

    /// <summary>Web app settings before it starts; the worker is already running.</summary>
    protected virtual void Configure(Dictionary<string, string> settings)
    {
        settings["Workers__Local__Name"] = "local-worker";
        settings["Workers__Local__Address"] = Worker.Address.ToString();
        settings["Workers__Local__Token"] = WorkerProcess.Token;
    }

    public async Task InitializeAsync()
    {
        await Worker.StartAsync();
        Configure(Browser.App.Settings);
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Worker.DisposeAsync();
    }
}

/// <summary>Browser + web app + a real local worker the web app registers at start.</summary>
public sealed class BrowserWithWorkerFixture : BrowserAndWorkerFixture;

/// <summary>Browser + web app + a real worker the web app does NOT know about: the admin registers it in the UI.</summary>
public sealed class BrowserAndUnregisteredWorkerFixture : BrowserAndWorkerFixture
{
    protected override void Configure(Dictionary<string, string> settings)
    {
    }
}

/// <summary>Browser + web app on its shipped defaults (the seeded sample on) + a real local worker: what ./run.sh gives.</summary>
public sealed class QuickStartFixture : BrowserAndWorkerFixture
{
    protected override void Configure(Dictionary<string, string> settings)
    {
        base.Configure(settings);
        settings["Sample__Enabled"] = "true";
        settings["Sample__Folder"] = Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist");
    }
}
