using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Data;

public sealed class DatabaseTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    [Fact]
    public async Task StartingOnAnEmptyFileAppliesEveryMigration()
    {
        await using var db = await app.DbAsync();

        Assert.True(File.Exists(app.DatabaseFile));
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.Equal(0, await db.Teams.CountAsync());
    }

    [Fact]
    public async Task TheModelHasNoChangesThatAreMissingFromTheMigrations()
    {
        // The app's own DbContext: Identity's options (schema version) are part of the model.
        await using var db = await app.DbAsync();

        Assert.False(db.Database.HasPendingModelChanges(),
            "The EF model changed without a migration: run `dotnet ef migrations add <Name> --project web --output-dir Data/Migrations`.");
    }

    [Fact]
    public async Task EveryConnectionUsesWalWithNormalSyncAndForeignKeys()
    {
        await using var db = await app.DbAsync();

        Assert.Equal("wal", await db.PragmaAsync("journal_mode"));
        Assert.Equal(1L, await db.PragmaAsync("synchronous")); // NORMAL; SQLite's default is FULL (2)
        Assert.Equal(1L, await db.PragmaAsync("foreign_keys"));
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

    [Fact]
    public async Task DateTimesComeBackAsUtc()
    {
        var created = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc);
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
        Assert.Equal(created, stored);
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
            Directory.CreateDirectory(Path.GetDirectoryName(DatabaseFile)!);
            using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE; CREATE TABLE scratch (x); DROP TABLE scratch;";
            command.ExecuteNonQuery();
        }
    }

    [Fact]
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
