using System.Net;

namespace TransferHub.E2E;

/// <summary>
/// The real web app as a separate process on a free loopback port, with its own temporary database and storage
/// (development environment, so static assets come from the build output).
/// </summary>
public sealed partial class WebAppProcess : IAsyncLifetime
{
    private BuiltProcess? _process;

    /// <summary>Extra configuration (environment variables, e.g. <c>Workers__Local__Address</c>) set before start.</summary>
    public Dictionary<string, string> Settings { get; } = new()
    {
        ["Workers__Local__Address"] = "", // no local worker unless a test starts one
        ["Sample__Enabled"] = "false",     // tests register their own first account (the site admin)
    };

    public Uri BaseAddress { get; } = BuiltProcess.FreeLoopbackAddress();

    public string Output => _process?.Output ?? "";

    /// <summary>Sets <paramref name="connectionString"/> to a new PostgreSQL database when the tests run on PostgreSQL
    /// (the E2E project's WebAppProcess.Postgres.cs); without an implementation (the browser bench) the app uses SQLite.</summary>
    static partial void UsePostgres(ref string? connectionString);

    public async Task InitializeAsync()
    {
        string? postgres = null;
        UsePostgres(ref postgres);
        _process = BuiltProcess.Start("web", "TransferHub.Web", "web", folder =>
        {
            var environment = new Dictionary<string, string>(Settings)
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["ASPNETCORE_URLS"] = BaseAddress.ToString(),
                ["Urls"] = BaseAddress.ToString(),
                ["ConnectionStrings__TransferHub"] = postgres ?? $"Data Source={Path.Combine(folder, "transferhub.db")}",
                ["Storage__Root"] = Path.Combine(folder, "storage"),
            };
            if (postgres is not null) environment["Database__Provider"] = "Postgres";
            return environment;
        });
        using var http = new HttpClient();
        await _process.WaitUntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(BaseAddress)).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
    }

    public async Task DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
    }
}
