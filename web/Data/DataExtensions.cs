using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace TransferHub.Web.Data;

/// <summary>The database engine behind <see cref="TransferHubDbContext"/> (setting <c>Database:Provider</c>).</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file (the default): nothing to install, one web process.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server (ADR 032): for teams that run the database on its own machine.</summary>
    Postgres,
}

public static class DataExtensions
{
    public const string ConnectionStringName = "TransferHub";
    public const string ProviderSetting = "Database:Provider";

    private static readonly SqlitePragmaInterceptor PragmaInterceptor = new();

    /// <summary>Registers <see cref="IDbContextFactory{TransferHubDbContext}"/> (for components and services) and a
    /// scoped <see cref="TransferHubDbContext"/> (for Identity) on the database named by ConnectionStrings:TransferHub:
    /// with <c>Database:Provider</c> Sqlite (the default) a SQLite file, a relative file name being relative to the
    /// content root; with Postgres a PostgreSQL database (Npgsql connection string), whose migrations are those of
    /// <see cref="PostgresTransferHubDbContext"/>.</summary>
    public static void AddWebData(this WebApplicationBuilder builder)
    {
        var provider = ProviderOf(builder.Configuration);
        builder.Services.AddDbContextFactory<TransferHubDbContext, TransferHubDbContextFactory>((services, options) =>
        {
            var configuration = services.GetRequiredService<IConfiguration>();
            var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
            var connectionString = ResolveConnectionString(configuration, contentRoot);
            if (provider == DatabaseProvider.Postgres)
                options.UseNpgsql(connectionString);
            else
                options.UseSqlite(connectionString).AddInterceptors(PragmaInterceptor);
        });
    }

    /// <summary>Creates the database (SQLite: its folder and file; PostgreSQL: the database, when the account may) and
    /// applies every pending migration of the configured provider.</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        var connectionString = ResolveConnectionString(app.Configuration, app.Environment.ContentRootPath);
        string where;
        if (ProviderOf(app.Configuration) == DatabaseProvider.Postgres)
        {
            var postgres = new NpgsqlConnectionStringBuilder(connectionString);
            where = $"{postgres.Database} on {postgres.Host}:{postgres.Port} (PostgreSQL)";
        }
        else
        {
            where = new SqliteConnectionStringBuilder(connectionString).DataSource;
            if (Path.GetDirectoryName(where) is { Length: > 0 } folder)
                Directory.CreateDirectory(folder);
        }

        var factory = app.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        await db.Database.MigrateAsync();
        app.Logger.LogInformation("Database {Database} is up to date", where);
    }

    /// <summary>The configured <see cref="DatabaseProvider"/>; Sqlite when <c>Database:Provider</c> is not set.</summary>
    /// <exception cref="InvalidOperationException">The setting names neither provider.</exception>
    public static DatabaseProvider ProviderOf(IConfiguration configuration)
    {
        var configured = configuration[ProviderSetting];
        if (string.IsNullOrWhiteSpace(configured))
            return DatabaseProvider.Sqlite;
        return Enum.TryParse<DatabaseProvider>(configured.Trim(), ignoreCase: true, out var provider) && Enum.IsDefined(provider)
            ? provider
            : throw new InvalidOperationException($"{ProviderSetting} is \"{configured}\"; it must be Sqlite or Postgres.");
    }

    /// <summary>ConnectionStrings:TransferHub, checked for the configured provider (SQLite: a relative file made absolute
    /// against <paramref name="contentRoot"/>; PostgreSQL: it must name a host and a database).</summary>
    internal static string ResolveConnectionString(IConfiguration configuration, string contentRoot)
    {
        var configured = configuration.GetConnectionString(ConnectionStringName);
        if (ProviderOf(configuration) == DatabaseProvider.Postgres)
        {
            const string example = "\"Host=localhost;Port=5432;Database=transferhub;Username=transferhub;Password=…\"";
            if (string.IsNullOrWhiteSpace(configured))
                throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set (with {ProviderSetting} = Postgres, e.g. {example}).");
            NpgsqlConnectionStringBuilder postgres;
            try { postgres = new NpgsqlConnectionStringBuilder(configured); }
            catch (ArgumentException e) { throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not a PostgreSQL connection string ({e.Message}); e.g. {example}.", e); }
            if (string.IsNullOrWhiteSpace(postgres.Host) || string.IsNullOrWhiteSpace(postgres.Database))
                throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} must name a PostgreSQL Host and Database when {ProviderSetting} is Postgres " +
                    $"(it is \"{new NpgsqlConnectionStringBuilder(configured) { Password = null }}\"); e.g. {example}.");
            return postgres.ConnectionString;
        }

        if (string.IsNullOrWhiteSpace(configured))
            throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set (e.g. \"Data Source=../data/web/transferhub.db\").");
        var builder = new SqliteConnectionStringBuilder(configured);
        if (builder.DataSource is { Length: > 0 } file && file != ":memory:" && !Path.IsPathRooted(file))
            builder.DataSource = Path.GetFullPath(Path.Combine(contentRoot, file));
        return builder.ConnectionString;
    }

    /// <summary>Creates the context type whose migrations match the configured provider: <see cref="TransferHubDbContext"/>
    /// on SQLite, <see cref="PostgresTransferHubDbContext"/> on PostgreSQL. Everything else asks for (and gets) a
    /// <see cref="TransferHubDbContext"/>.</summary>
    private sealed class TransferHubDbContextFactory(DbContextOptions<TransferHubDbContext> options, IConfiguration configuration)
        : IDbContextFactory<TransferHubDbContext>
    {
        private readonly bool _postgres = ProviderOf(configuration) == DatabaseProvider.Postgres;

        public TransferHubDbContext CreateDbContext() => _postgres ? new PostgresTransferHubDbContext(options) : new TransferHubDbContext(options);
    }
}
