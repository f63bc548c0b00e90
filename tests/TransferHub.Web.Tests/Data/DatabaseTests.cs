using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Npgsql;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Data;

public sealed class DatabaseTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    [Fact]
    public async Task StartingOnAnEmptyDatabaseAppliesEveryMigrationOfItsProvider()
    {
        await using var db = await app.DbAsync();

        if (app.Provider == DatabaseProvider.Sqlite)
            Assert.True(File.Exists(app.DatabaseFile));
        // PostgreSQL has its own migrations (one context type per provider, ADR 032).
        Assert.IsType(app.Provider == DatabaseProvider.Postgres ? typeof(PostgresTransferHubDbContext) : typeof(TransferHubDbContext), db);
        Assert.Equal(app.Provider == DatabaseProvider.Postgres, db.Database.IsNpgsql());
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
    }

    [Fact]
    public async Task TheSqliteModelHasNoChangesThatAreMissingFromTheSqliteMigrations()
    {
        // The app's own services: Identity's options (schema version) are part of the model. No connection is opened.
        await using var db = new TransferHubDbContext(new DbContextOptionsBuilder<TransferHubDbContext>()
            .UseSqlite("Data Source=never-opened.db").UseApplicationServiceProvider(app.Services).Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The EF model changed without a SQLite migration: run " +
            "`dotnet ef migrations add <Name> --project web --context TransferHubDbContext --output-dir Data/Migrations` (or scripts/add-migration.sh <Name>).");
    }

    [Fact]
    public async Task ThePostgresModelHasNoChangesThatAreMissingFromThePostgresMigrations()
    {
        // Needs no server: comparing the model with the migrations' snapshot opens no connection.
        await using var db = new PostgresTransferHubDbContext(new DbContextOptionsBuilder<TransferHubDbContext>()
            .UseNpgsql("Host=never-opened.invalid;Database=transferhub").UseApplicationServiceProvider(app.Services).Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The EF model changed without a PostgreSQL migration: run " +
            "`dotnet ef migrations add <Name> --project web --context PostgresTransferHubDbContext --output-dir Data/Migrations/Postgres` (or scripts/add-migration.sh <Name>).");
    }

    [Fact]
    public async Task TheRunningAppsModelHasNoChangesThatAreMissingFromItsProvidersMigrations()
    {
        await using var db = await app.DbAsync();

        Assert.False(db.Database.HasPendingModelChanges(), "The EF model changed without a migration: run scripts/add-migration.sh <Name>.");
    }

    [SqliteFact]
    public async Task EveryConnectionUsesWalWithNormalSyncAndForeignKeys()
    {
        await using var db = await app.DbAsync();

        Assert.Equal("wal", await db.PragmaAsync("journal_mode"));
        Assert.Equal(1L, await db.PragmaAsync("synchronous")); // NORMAL; SQLite's default is FULL (2)
        Assert.Equal(1L, await db.PragmaAsync("foreign_keys"));
    }

    [PostgresFact]
    public async Task PostgresStoresDateTimesAsTimestampWithTimeZoneAndTextByItsDeclaredLength()
    {
        await using var db = await app.DbAsync();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "SELECT data_type || coalesce('(' || character_maximum_length || ')', '') FROM information_schema.columns " +
            "WHERE table_name = 'Teams' AND column_name IN ('CreatedAt', 'Name') ORDER BY column_name";
        var types = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) types.Add(reader.GetString(0));

        Assert.Equal(["timestamp with time zone", "character varying(100)"], types);
    }

    [Fact]
    public async Task AClassThatStillHasImagesCannotBeDeleted()
    {
        var dataset = await SeedDatasetAsync("class-delete");
        await using var db = await app.DbAsync();
        var label = await db.DatasetClasses.SingleAsync(c => c.DatasetId == dataset.Id);

        db.DatasetClasses.Remove(label);

        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
    }

    [Fact]
    public async Task DeletingAProjectDeletesItsDatasetsClassesAndImages()
    {
        var dataset = await SeedDatasetAsync("cascade");
        await using (var db = await app.DbAsync())
        {
            await db.Projects.Where(p => p.Id == dataset.ProjectId).ExecuteDeleteAsync();
        }

        await using var check = await app.DbAsync();
        Assert.False(await check.Datasets.AnyAsync(d => d.Id == dataset.Id));
        Assert.False(await check.DatasetClasses.AnyAsync(c => c.DatasetId == dataset.Id));
        Assert.False(await check.DatasetImages.AnyAsync(i => i.DatasetId == dataset.Id));
    }

    [Theory]
    [InlineData(DateTimeKind.Utc)]
    [InlineData(DateTimeKind.Unspecified)] // PostgreSQL (timestamp with time zone) takes only UTC: an unmarked time is UTC
    public async Task DateTimesComeBackAsUtc(DateTimeKind kind)
    {
        var created = new DateTime(2025, 3, 4, 5, 6, 7, kind);
        int id;
        await using (var db = await app.DbAsync())
        {
            var team = new Team { Name = "utc", CreatedAt = created };
            db.Teams.Add(team);
            await db.SaveChangesAsync();
            id = team.Id;
        }

        await using var check = await app.DbAsync();
        var stored = (await check.Teams.SingleAsync(t => t.Id == id)).CreatedAt;
        Assert.Equal(DateTimeKind.Utc, stored.Kind);
        Assert.Equal(DateTime.SpecifyKind(created, DateTimeKind.Utc), stored);
        // Compared in the database too (the parameter is converted like the column).
        Assert.True(await check.Teams.AnyAsync(t => t.Id == id && t.CreatedAt == created));
    }

    [Fact]
    public async Task AnInstantReadsBackEqualToTheSavedEntityCutToMicroseconds()
    {
        var created = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1_234_567); // .1234567 s
        var team = new Team { Name = "ticks", CreatedAt = created };
        await using (var db = await app.DbAsync())
        {
            db.Teams.Add(team);
            await db.SaveChangesAsync();
        }

        await using var check = await app.DbAsync();
        var stored = (await check.Teams.SingleAsync(t => t.Id == team.Id)).CreatedAt;
        Assert.Equal(created.AddTicks(-7), stored); // PostgreSQL keeps microseconds; SQLite is cut the same way
        Assert.Equal(team.CreatedAt, stored);
    }

    [Fact]
    public async Task ALocalDateTimeIsStoredAsTheSameInstantInUtc()
    {
        var instant = new DateTime(2025, 6, 7, 8, 9, 10, DateTimeKind.Utc);
        int id;
        await using (var db = await app.DbAsync())
        {
            var team = new Team { Name = "local", CreatedAt = instant.ToLocalTime() };
            db.Teams.Add(team);
            await db.SaveChangesAsync();
            id = team.Id;
        }

        await using var check = await app.DbAsync();
        Assert.Equal(instant, (await check.Teams.SingleAsync(t => t.Id == id)).CreatedAt);
    }

    [Theory]
    [InlineData("Data Source=../data/web/th.db", "/srv/app/web", "/srv/app/data/web/th.db")]
    [InlineData("Data Source=/var/lib/th.db", "/srv/app/web", "/var/lib/th.db")]
    public void ARelativeDatabaseFileIsRelativeToTheContentRoot(string configured, string contentRoot, string expectedFile)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:TransferHub"] = configured })
            .Build();

        var resolved = DataExtensions.ResolveConnectionString(configuration, contentRoot);

        Assert.Equal(expectedFile, new SqliteConnectionStringBuilder(resolved).DataSource);
    }

    [Theory]
    [InlineData(null, DatabaseProvider.Sqlite)]
    [InlineData("Sqlite", DatabaseProvider.Sqlite)]
    [InlineData("postgres", DatabaseProvider.Postgres)]
    [InlineData(" Postgres ", DatabaseProvider.Postgres)]
    public void TheProviderIsSqliteUnlessPostgresIsConfigured(string? configured, DatabaseProvider expected)
    {
        Assert.Equal(expected, DataExtensions.ProviderOf(Configuration(configured, connection: null)));
    }

    [Fact]
    public void AnUnknownProviderIsRefusedByName()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataExtensions.ProviderOf(Configuration("MySql", connection: null)));

        Assert.Equal("Database:Provider is \"MySql\"; it must be Sqlite or Postgres.", error.Message);
    }

    [Fact]
    public void OnPostgresTheSqliteFileSettingIsRefusedWithAnExampleAndWithoutThePassword()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataExtensions.ResolveConnectionString(
            Configuration("Postgres", "Data Source=../data/web/transferhub.db;Password=secret"), "/srv/app/web"));

        Assert.StartsWith("ConnectionStrings:TransferHub is not a PostgreSQL connection string (Couldn't set data source", error.Message);
        Assert.Contains("e.g. \"Host=localhost;Port=5432;Database=transferhub;", error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public void OnPostgresAConnectionStringWithoutADatabaseIsRefusedWithoutThePassword()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataExtensions.ResolveConnectionString(
            Configuration("Postgres", "Host=db.internal;Username=th;Password=secret"), "/srv/app/web"));

        Assert.StartsWith("ConnectionStrings:TransferHub must name a PostgreSQL Host and Database when Database:Provider is Postgres " +
            "(it is \"Host=db.internal;Username=th\")", error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public void OnPostgresTheConnectionStringIsUsedAsGiven()
    {
        var resolved = DataExtensions.ResolveConnectionString(
            Configuration("Postgres", "Host=db.internal;Port=5433;Database=th;Username=th;Password=pw"), "/srv/app/web");

        var postgres = new NpgsqlConnectionStringBuilder(resolved);
        Assert.Equal(("db.internal", 5433, "th", "th", "pw"), (postgres.Host, postgres.Port, postgres.Database, postgres.Username, postgres.Password));
    }

    private static IConfiguration Configuration(string? provider, string? connection) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Provider"] = provider, ["ConnectionStrings:TransferHub"] = connection })
        .Build();

    private async Task<Dataset> SeedDatasetAsync(string name)
    {
        await using var db = await app.DbAsync();
        var now = DateTime.UtcNow;
        var team = new Team { Name = name, CreatedAt = now };
        var project = new Project { Name = name, CreatedAt = now, Team = team };
        var dataset = new Dataset { Name = name, CreatedAt = now, Project = project };
        var label = new DatasetClass { Name = "cat", Ordinal = 0, Dataset = dataset };
        dataset.Images.Add(new DatasetImage
        {
            Sha256 = new string('a', 64), OriginalName = "cat.png", Width = 8, Height = 8, AddedAt = now, Class = label,
        });
        db.Datasets.Add(dataset);
        await db.SaveChangesAsync();
        return dataset;
    }
}

/// <summary>An existing database file that EF did not create (made with sqlite3, restored from a backup) is in
/// rollback-journal mode; the app must still run it in WAL mode.</summary>
public sealed class ExistingDatabaseFileTests(ExistingDatabaseFileTests.Factory app) : IClassFixture<ExistingDatabaseFileTests.Factory>
{
    public sealed class Factory : WebAppFactory
    {
        public Factory()
        {
            if (Provider != DatabaseProvider.Sqlite) return;
            Directory.CreateDirectory(Path.GetDirectoryName(DatabaseFile)!);
            using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE; CREATE TABLE scratch (x); DROP TABLE scratch;";
            command.ExecuteNonQuery();
        }
    }

    [SqliteFact]
    public async Task AnExistingRollbackJournalFileIsMigratedAndSwitchedToWal()
    {
        await using var db = await app.DbAsync();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal("wal", await db.PragmaAsync("journal_mode"));
    }
}

internal static class PragmaExtensions
{
    public static async Task<object?> PragmaAsync(this TransferHubDbContext db, string name)
    {
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return await command.ExecuteScalarAsync();
    }
}
