using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TransferHub.Testing;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;
using Xunit.Abstractions;

namespace TransferHub.Integration.Tests;

/// <summary>A real worker on TestServer with a temporary data folder, or with <paramref name="folder"/> (kept when this
/// host is disposed) to play a worker process that restarts on the same disk.</summary>
public sealed class WorkerHost(string? folder = null) : WebApplicationFactory<TransferHub.Worker.WorkerOptions>, ILoggedHost
{
    public const string Token = "integration-token-0123456789";
    private readonly string _folder = folder ?? Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
    private readonly bool _ownsFolder = folder is null;

    public string Folder => _folder;

    public TestOutputLoggerProvider Log { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureLogging(Log.AddTo);
        builder.UseSetting("Worker:Name", "integration-worker");
        builder.UseSetting("Worker:Token", Token);
        builder.UseSetting("Worker:DataFolder", _folder);
        builder.UseSetting("Worker:WeightsFolder", Path.Combine(_folder, "weights"));
        builder.UseSetting("Worker:Device", "Cpu");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (_ownsFolder)
            try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The web app on TestServer whose gRPC clients reach the in-process worker <see cref="Worker"/> points at
/// (null = the worker is gone: calls fail as if its process died). Several hosts may share one <paramref name="folder"/>
/// (database and storage) to play a web app that restarts.</summary>
public sealed class WebHost : WebApplicationFactory<TransferHub.Web.WebOptions>, ILoggedHost
{
    private readonly bool _ownsFolder;

    public WebHost(WorkerHost worker) : this(new WorkerSwitch(worker), folder: null)
    {
    }

    /// <param name="services">Extra registrations (e.g. OpenTelemetry's in-memory exporters).</param>
    public WebHost(WorkerSwitch worker, string? folder, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        Worker = worker;
        _services = services;
        _settings = settings ?? new Dictionary<string, string>();
        _ownsFolder = folder is null;
        Folder = folder ?? Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
        _ = worker.Current?.Server; // start it now (it loads libtorch and the backbones), not inside a call's deadline
    }

    public const string WorkerAddress = "http://worker.test:5101";

    /// <summary><c>TRANSFERHUB_TEST_DATABASE=postgres</c> (test.sh's PostgreSQL pass): the web app on a real PostgreSQL
    /// server (<see cref="PostgresServer.Shared"/>) instead of an SQLite file, unless a test sets its own provider.</summary>
    public bool OnPostgres => Environment.GetEnvironmentVariable("TRANSFERHUB_TEST_DATABASE") == "postgres"
        && !_settings.ContainsKey(DataExtensions.ProviderSetting);

    // One PostgreSQL database per folder, so that a host started again on the same folder (a web restart) finds its data.
    private static readonly ConcurrentDictionary<string, string> s_databases = new();

    /// <summary>The web app's database: <c>web.db</c> in <see cref="Folder"/>, or the folder's PostgreSQL database.</summary>
    public string ConnectionString => OnPostgres
        ? PostgresServer.Shared.ConnectionString(s_databases.GetOrAdd(Folder, _ => PostgresServer.Shared.CreateDatabase("transferhub_it")))
        : $"Data Source={Path.Combine(Folder, "web.db")}";

    /// <summary>A plain ADO.NET connection to the web app's database (open), for a test that changes rows behind the
    /// app's back while it is stopped. Quote identifiers ("Jobs") so the SQL runs on both providers.</summary>
    public async Task<DbConnection> OpenDatabaseAsync()
    {
        DbConnection connection = OnPostgres ? new Npgsql.NpgsqlConnection(ConnectionString) : new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly Action<IServiceCollection>? _services;

    public WorkerSwitch Worker { get; }
    public string Folder { get; }
    public TestOutputLoggerProvider Log { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.ConfigureLogging(Log.AddTo);
        builder.UseSetting("ConnectionStrings:TransferHub", ConnectionString);
        if (OnPostgres) builder.UseSetting(DataExtensions.ProviderSetting, "Postgres");
        builder.UseSetting("Storage:Root", Path.Combine(Folder, "storage"));
        builder.UseSetting("Workers:Local:Name", "in-process-worker");
        builder.UseSetting("Workers:Local:Address", WorkerAddress);
        builder.UseSetting("Workers:Local:Token", WorkerHost.Token);
        builder.UseSetting("Jobs:PollSeconds", "0.2");
        builder.UseSetting("Sample:Enabled", "false");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton<WorkerClientFactory>(new InProcessClients(Worker))));
        if (_services is not null) builder.ConfigureServices(_services);
    }

    public async Task<string> CreateAdminAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var email = $"admin-{Guid.NewGuid():N}@example.com";
        var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
        Assert.True((await users.CreateAsync(user)).Succeeded);
        if (!await users.IsInRoleAsync(user, SiteAdmin.Role)) // the first account becomes admin on its own
            Assert.True((await users.AddToRoleAsync(user, SiteAdmin.Role)).Succeeded);
        return user.Id;
    }

    public async Task<T> InScopeAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (_ownsFolder)
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    private sealed class InProcessClients(WorkerSwitch worker) : WorkerClientFactory
    {
        protected override HttpMessageHandler CreateHandler(Uri address) => new SwitchingHandler(worker);
    }

    /// <summary>Sends each request to whichever worker is current; with none, fails like a refused connection. Response
    /// bodies break off when the worker is killed, as a TCP connection to a dead process would.</summary>
    private sealed class SwitchingHandler(WorkerSwitch worker) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var current = worker.Current ?? throw new HttpRequestException("Connection refused (the test stopped the worker).");
            var killed = worker.KilledToken;
            using var invoker = new HttpMessageInvoker(current.Server.CreateHandler(), disposeHandler: false);
            var response = await invoker.SendAsync(request, cancellationToken);
            if (worker.OnResponse is { } hook) await hook(request.RequestUri?.AbsolutePath ?? "", cancellationToken);
            var body = new StreamContent(new SeveredStream(await response.Content.ReadAsStreamAsync(cancellationToken), killed));
            foreach (var header in response.Content.Headers) body.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content = body;
            return response;
        }
    }

    private sealed class SeveredStream(Stream inner, CancellationToken killed) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, killed);
            try
            {
                return await inner.ReadAsync(buffer, either.Token);
            }
            catch (OperationCanceledException) when (killed.IsCancellationRequested)
            {
                throw new IOException("Connection reset by peer (the test killed the worker).");
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>Which in-process worker the web reaches: tests kill one and start another.</summary>
public sealed class WorkerSwitch(WorkerHost? current)
{
    private CancellationTokenSource _killed = new();

    public WorkerHost? Current { get; set; } = current;

    public CancellationToken KilledToken => _killed.Token;

    /// <summary>Called with the request path (e.g. <c>/transferhub.worker.v1.WorkerService/DownloadModel</c>) once a
    /// worker's response has started and before its body is read: a test kills the worker or stalls the call here.</summary>
    public Func<string, CancellationToken, Task>? OnResponse { get; set; }

    /// <summary>Like kill -9: open streams break off mid-message and new connections are refused. Returns the
    /// worker so the test can dispose of it (whatever it says while shutting down reaches nobody).</summary>
    public WorkerHost Kill()
    {
        var dead = Current ?? throw new InvalidOperationException("No worker is running.");
        Current = null;
        _killed.Cancel();
        _killed = new CancellationTokenSource();
        return dead;
    }
}

/// <summary>A test host whose log a test can read in its output.</summary>
public interface ILoggedHost
{
    TestOutputLoggerProvider Log { get; }
}

/// <summary>Base of tests that start web apps and workers: every host a test keeps is disposed after it, newest first
/// (web apps before the workers they call), and what the hosts log appears in the test's output.</summary>
public abstract class HostedTest(ITestOutputHelper output) : IDisposable
{
    private readonly List<IDisposable> _hosts = [];
    private readonly List<IDisposable> _logs = [];

    /// <summary>The running test's output (measurements worth reading in the log).</summary>
    protected ITestOutputHelper Output => output;

    protected T Keep<T>(T host) where T : IDisposable
    {
        _hosts.Add(Logged(host));
        return host;
    }

    /// <summary>Shows <paramref name="host"/>'s log in this test's output (hosts passed to <see cref="Keep"/> already do).</summary>
    protected T Logged<T>(T host)
    {
        if (host is ILoggedHost logged) _logs.Add(logged.Log.Attach(output));
        return host;
    }

    protected WorkerHost NewWorker() => Keep(new WorkerHost());

    public void Dispose()
    {
        foreach (var host in Enumerable.Reverse(_hosts)) host.Dispose();
        foreach (var log in _logs) log.Dispose();
        GC.SuppressFinalize(this);
    }
}
