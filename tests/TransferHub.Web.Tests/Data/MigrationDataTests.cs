using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Data;

/// <summary>SQLite migrations that change data, run on a database as the previous version left it. (PostgreSQL's
/// migrations began with the model these produced: they have no old data to change.)</summary>
public sealed class MigrationDataTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"transferhub-migration-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        File.Delete(_file);
    }

    // Identity's options (part of the app's model) are not configured here; the migrations themselves are what runs.
    private TransferHubDbContext Db() => new(new DbContextOptionsBuilder<TransferHubDbContext>().UseSqlite($"Data Source={_file}")
        .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);

    /// <summary>Inserts a Jobs row: every NOT NULL column gets a neutral value unless <paramref name="values"/> gives one.</summary>
    private Task InsertJobAsync(Dictionary<string, object?> values) => InsertAsync("Jobs", values);

    /// <summary>Inserts a row of <paramref name="table"/> (foreign keys off): every NOT NULL column gets a neutral value
    /// unless <paramref name="values"/> gives one.</summary>
    private async Task InsertAsync(string table, Dictionary<string, object?> values)
    {
        await using var connection = new SqliteConnection($"Data Source={_file}");
        await connection.OpenAsync();
        await using (var off = connection.CreateCommand())
        {
            off.CommandText = "PRAGMA foreign_keys = OFF";
            await off.ExecuteNonQueryAsync();
        }
        var columns = new List<(string Name, string Type)>();
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = $"SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{table}')";
            await using var reader = await info.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                if (reader.GetInt64(2) == 1 && reader.IsDBNull(3) && reader.GetInt64(4) == 0)
                    columns.Add((reader.GetString(0), reader.GetString(1)));
        }
        var row = columns.ToDictionary(c => c.Name, c => (object?)(c.Type switch
        {
            "TEXT" => "",
            "BLOB" => Array.Empty<byte>(),
            _ => 0,
        }));
        row["CreatedAt"] = "2026-11-28 10:00:00";
        foreach (var (name, value) in values) row[name] = value;
        await using var insert = connection.CreateCommand();
        insert.CommandText = $"INSERT INTO {table} ({string.Join(", ", row.Keys)}) VALUES ({string.Join(", ", row.Keys.Select(k => "$" + k))})";
        foreach (var (name, value) in row) insert.Parameters.AddWithValue("$" + name, value ?? DBNull.Value);
        await insert.ExecuteNonQueryAsync();
    }

    [SqliteFact]
    public async Task RunsLeftCompletedWithoutAModelBecomeFinishingSoTheirModelIsCopiedAgain()
    {
        await using (var db = Db())
            await db.GetService<IMigrator>().MigrateAsync("20261128191357_ClassSplitIndex");
        await InsertJobAsync(new() { ["Id"] = 1, ["Kind"] = "Training", ["Status"] = "Completed", ["ModelId"] = "m1", ["ModelBytes"] = null });
        await InsertJobAsync(new() { ["Id"] = 2, ["Kind"] = "Training", ["Status"] = "Completed", ["ModelId"] = "m2", ["ModelBytes"] = 12345 });
        await InsertJobAsync(new() { ["Id"] = 3, ["Kind"] = "Ensemble", ["Status"] = "Completed", ["ModelBytes"] = null });
        await InsertJobAsync(new() { ["Id"] = 4, ["Kind"] = "Training", ["Status"] = "Failed", ["ModelBytes"] = null });

        await using (var db = Db())
        {
            await db.Database.MigrateAsync();
            var statuses = await db.Jobs.OrderBy(j => j.Id).Select(j => j.Status).ToListAsync();

            // Only the training run without a model changes: the scheduler copies it again (or fails it with a re-queue hint).
            Assert.Equal([JobStatus.Finishing, JobStatus.Completed, JobStatus.Completed, JobStatus.Failed], statuses);
            Assert.Null((await db.Jobs.SingleAsync(j => j.Id == 1)).FinishedAt);
        }
    }

    [SqliteFact]
    public async Task ExistingRunsAreNumberedPerProjectInIdOrderAndNewRunsContinueFromThere()
    {
        await using (var db = Db())
            await db.GetService<IMigrator>().MigrateAsync("20261129215040_LabelIssues");
        await InsertAsync("Datasets", new() { ["Id"] = 1, ["ProjectId"] = 7, ["Name"] = "a" });
        await InsertAsync("Datasets", new() { ["Id"] = 2, ["ProjectId"] = 8, ["Name"] = "b" });
        await InsertAsync("Datasets", new() { ["Id"] = 3, ["ProjectId"] = 7, ["Name"] = "c" });
        foreach (var (id, dataset) in new[] { (5, 1), (6, 2), (9, 3), (12, 1), (13, 2) })
            await InsertJobAsync(new() { ["Id"] = id, ["DatasetId"] = dataset, ["Kind"] = "Training", ["Status"] = "Completed" });

        await using (var db = Db())
        {
            await db.Database.MigrateAsync();
            var rows = await db.Jobs.OrderBy(j => j.Id).Select(j => new { j.Id, j.ProjectId, j.Number }).ToListAsync();
            Assert.Equal([(5, 7, 1), (6, 8, 1), (9, 7, 2), (12, 7, 3), (13, 8, 2)], rows.Select(r => (r.Id, r.ProjectId, r.Number)));

            // The next run of project 7 is #4; the unique index refuses a second #4.
            var next = new TrainingJob { DatasetId = 3, SettingsJson = "{}", Backbone = "b", ClassNamesJson = "[]", DatasetVersion = "v", CreatedAt = DateTime.UtcNow };
            db.Jobs.Add(next);
            await db.SaveChangesAsync();
            Assert.Equal((7, 4), (next.ProjectId, next.Number));
            await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync("UPDATE Jobs SET Number = 4 WHERE Id = 12"));
        }
    }
}
