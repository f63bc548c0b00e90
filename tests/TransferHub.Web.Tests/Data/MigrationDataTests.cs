using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using TransferHub.Web.Data;

namespace TransferHub.Web.Tests.Data;

/// <summary>Migrations that change data, run on a database as the previous version left it.</summary>
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
    private async Task InsertJobAsync(Dictionary<string, object?> values)
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
            info.CommandText = "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('Jobs')";
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
        insert.CommandText = $"INSERT INTO Jobs ({string.Join(", ", row.Keys)}) VALUES ({string.Join(", ", row.Keys.Select(k => "$" + k))})";
        foreach (var (name, value) in row) insert.Parameters.AddWithValue("$" + name, value ?? DBNull.Value);
        await insert.ExecuteNonQueryAsync();
    }

    [Fact]
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
}
