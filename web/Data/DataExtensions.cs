using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace TransferHub.Web.Data;

public static class DataExtensions
{
    public const string ConnectionStringName = "TransferHub";

    private static readonly SqlitePragmaInterceptor PragmaInterceptor = new();

    /// <summary>Registers <see cref="IDbContextFactory{TransferHubDbContext}"/> (for components and services) and a
    /// scoped <see cref="TransferHubDbContext"/> (for Identity) on the SQLite file named by
    /// ConnectionStrings:TransferHub; a relative file name is relative to the content root.</summary>
    public static void AddWebData(this WebApplicationBuilder builder)
    {
        builder.Services.AddDbContextFactory<TransferHubDbContext>((services, options) =>
        {
            var configuration = services.GetRequiredService<IConfiguration>();
            var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
            options.UseSqlite(ResolveConnectionString(configuration, contentRoot))
                .AddInterceptors(PragmaInterceptor);
        });
    }

    /// <summary>Creates the database folder and applies every pending migration.</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        var connectionString = ResolveConnectionString(app.Configuration, app.Environment.ContentRootPath);
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (Path.GetDirectoryName(file) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);

        var factory = app.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        await db.Database.MigrateAsync();
        app.Logger.LogInformation("Database {File} is up to date", file);
    }

    internal static string ResolveConnectionString(IConfiguration configuration, string contentRoot)
    {
        var configured = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(configured))
            throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set (e.g. \"Data Source=../data/web/transferhub.db\").");
        var builder = new SqliteConnectionStringBuilder(configured);
        if (builder.DataSource is { Length: > 0 } file && file != ":memory:" && !Path.IsPathRooted(file))
            builder.DataSource = Path.GetFullPath(Path.Combine(contentRoot, file));
        return builder.ConnectionString;
    }
}
