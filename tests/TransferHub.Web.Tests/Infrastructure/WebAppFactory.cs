using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Testing;
using TransferHub.Web.Data;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>The real web app on TestServer with its own temporary database, deleted afterwards: a SQLite file, or with
/// <c>TRANSFERHUB_TEST_DATABASE=postgres</c> a new database on the tests' PostgreSQL server (<see cref="TestDatabase"/>).
/// One per test class (<c>IClassFixture</c>); tests in a class share the database, so they use their own accounts and teams.</summary>
public class WebAppFactory : WebApplicationFactory<Program>
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "transferhub-web-tests", Guid.NewGuid().ToString("N"));
    private readonly Lazy<string> _postgresDatabase = new(() => PostgresServer.Shared.CreateDatabase());

    /// <summary>The provider the app runs on (<see cref="TestDatabase.Provider"/>).</summary>
    public DatabaseProvider Provider => TestDatabase.Provider;

    /// <summary>The SQLite file (SQLite only).</summary>
    public string DatabaseFile => Provider == DatabaseProvider.Sqlite ? Path.Combine(_folder, "transferhub.db")
        : throw new InvalidOperationException("The app runs on PostgreSQL in this pass: there is no database file.");

    /// <summary>ConnectionStrings:TransferHub as the app gets it.</summary>
    public virtual string ConnectionString => Provider == DatabaseProvider.Postgres
        ? PostgresServer.Shared.ConnectionString(_postgresDatabase.Value) : $"Data Source={DatabaseFile}";

    public virtual string StorageRoot => Path.Combine(_folder, "storage");

    /// <summary>Extra configuration for subclasses (e.g. Web:AdminEmail).</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting(DataExtensions.ProviderSetting, Provider.ToString());
        builder.UseSetting("ConnectionStrings:TransferHub", ConnectionString);
        builder.UseSetting("Storage:Root", StorageRoot);
        builder.UseSetting("Sample:Enabled", "false");
        // No local worker unless a test class asks for one: a worker someone runs on this machine (./run.sh on
        // 127.0.0.1:5101) must not train the runs these tests expect to stay queued.
        builder.UseSetting("Workers:Local:Address", "");
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Runs <paramref name="action"/> with services from a fresh DI scope (as one request or circuit would).</summary>
    public async Task<TResult> InScopeAsync<TResult>(Func<IServiceProvider, Task<TResult>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    /// <summary>Creates an account without a password (fast: no hashing) and returns its id.</summary>
    public Task<string> CreateUserAsync(string email) => InScopeAsync(async services =>
    {
        var users = services.GetRequiredService<UserManager<ApplicationUser>>();
        var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
        var result = await users.CreateAsync(user);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors.Select(e => e.Description)));
        return user.Id;
    });

    /// <summary>An HTTP client signed in through the real login form as a (password-less) test account, which gets a
    /// password first.</summary>
    public async Task<HttpClient> SignedInClientAsync(string email, string userId)
    {
        const string password = "Correct-horse-9";
        await InScopeAsync(async services =>
        {
            var users = services.GetRequiredService<UserManager<ApplicationUser>>();
            var user = await users.FindByIdAsync(userId);
            Assert.True((await users.AddPasswordAsync(user!, password)).Succeeded);
            return true;
        });
        var browser = new BrowserlessClient(CreateClient());
        var (_, html) = await browser.LogInAsync(email, password);
        Assert.Contains(email, html, StringComparison.OrdinalIgnoreCase);
        return browser.Http;
    }

    public async Task<TransferHubDbContext> DbAsync() =>
        await Service<Microsoft.EntityFrameworkCore.IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (_postgresDatabase.IsValueCreated)
            PostgresServer.Shared.DropDatabase(_postgresDatabase.Value);
        else
            SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
