// Dataset page query benchmark. Not a test: it seeds image rows (no files) into a temporary SQLite database through the
// web app's own migrations, then times the queries the dataset page runs, through the app's own services.
//   dotnet run -c Release --project bench/TransferHub.Web.Bench -- [--sizes 10000,50000] [--runs 30] [--only TEXT] [--plans]
//   ... -- --predict-latency: single-image predict through the web API and a real worker process (PredictLatencyBench.cs)
//   ... -- --worker-memory: the real worker process's RSS over fine-tunes (WorkerMemoryBench.cs)
// --only runs the queries whose name contains TEXT; --plans prints each query's SQL and SQLite's plan for the largest size;
// --try-index adds, to the benchmark's database only, the index a future migration could add (see docs/benchmarks.md).
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Bench;

public static class GalleryBench
{
    private const int PageSize = ImageGallery.PageSize;
    private const int Classes = 10;

    /// <summary>A covering index for the class chart's per-class, per-split counts (and the class + split gallery filter).</summary>
    private const string TryIndex = "CREATE INDEX IX_Bench_DatasetId_ClassId_Split ON DatasetImages (DatasetId, ClassId, Split)";

    public static async Task<int> Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (args.Contains("--predict-latency")) return await PredictLatencyBench.RunAsync(args);
        if (args.Contains("--worker-memory")) return await WorkerMemoryBench.RunAsync(args);
        var sizes = Option(args, "--sizes")?.Split(',').Select(int.Parse).ToArray() ?? [10_000, 50_000];
        var runs = int.Parse(Option(args, "--runs") ?? "30");
        var plans = args.Contains("--plans");
        var only = Option(args, "--only");
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-web-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(folder);
        try
        {
            var recorder = new CommandRecorder();
            await using var app = await BuildAsync(folder, recorder);
            Console.WriteLine($"TransferHub dataset page queries · SQLite {SqliteVersion()} · {Environment.ProcessorCount} cores · median (p95) of {runs} runs, ms");
            var userId = await SeedTeamAsync(app);
            var datasets = new List<(int Size, int Id)>();
            foreach (var size in sizes)
            {
                var clock = Stopwatch.StartNew();
                datasets.Add((size, await SeedDatasetAsync(app, userId, size)));
                Console.WriteLine($"seeded {size:N0} image rows in {clock.Elapsed.TotalSeconds:F1} s");
            }
            Console.WriteLine($"(all {datasets.Count} datasets share one database file: {datasets.Sum(d => d.Size):N0} rows)");
            if (args.Contains("--try-index"))
            {
                await using var db = await app.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
                await db.Database.ExecuteSqlRawAsync(TryIndex);
                Console.WriteLine($"with {TryIndex} (not in the app's migrations)");
            }
            Console.WriteLine();
            Console.WriteLine($"| query | {string.Join(" | ", datasets.Select(d => $"{d.Size:N0} images"))} |");
            Console.WriteLine($"|---|{string.Concat(datasets.Select(_ => "---|"))}");
            foreach (var (name, query) in Queries().Where(q => only is null || q.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
            {
                var cells = new List<string>();
                foreach (var (size, id) in datasets)
                {
                    var timing = await TimeAsync(app, runs, services => query(services, userId, id, size));
                    cells.Add(timing);
                }
                Console.WriteLine($"| {name} | {string.Join(" | ", cells)} |");
            }
            if (plans)
            {
                var (size, id) = datasets[^1];
                Console.WriteLine();
                Console.WriteLine($"Query plans ({size:N0} images):");
                foreach (var (name, query) in Queries().Where(q => only is null || q.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
                {
                    recorder.Commands.Clear();
                    await using (var scope = app.Services.CreateAsyncScope())
                        await query(scope.ServiceProvider, userId, id, size);
                    Console.WriteLine($"-- {name}");
                    foreach (var command in recorder.Commands.ToList())
                        await ExplainAsync(app, command);
                }
            }
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>What the dataset page asks the database for (each through the service the page uses).</summary>
    private static IEnumerable<(string Name, Func<IServiceProvider, string, int, int, Task> Query)> Queries()
    {
        DatasetService Datasets(IServiceProvider s) => s.GetRequiredService<DatasetService>();
        int LastPage(int size) => (size + PageSize - 1) / PageSize;
        yield return ("gallery page 1, no filter", (s, u, d, n) => Datasets(s).PageImagesAsync(u, d, null, null, 1, PageSize));
        yield return ("gallery middle page, no filter", (s, u, d, n) => Datasets(s).PageImagesAsync(u, d, null, null, LastPage(n) / 2, PageSize));
        yield return ("gallery last page, no filter", (s, u, d, n) => Datasets(s).PageImagesAsync(u, d, null, null, LastPage(n), PageSize));
        yield return ("gallery page 1, one class", async (s, u, d, n) => await Datasets(s).PageImagesAsync(u, d, await ClassIdAsync(s, d), null, 1, PageSize));
        yield return ("gallery last page, one class", async (s, u, d, n) => await Datasets(s).PageImagesAsync(u, d, await ClassIdAsync(s, d), null, LastPage(n / Classes), PageSize));
        yield return ("gallery page 1, test split", (s, u, d, n) => Datasets(s).PageImagesAsync(u, d, null, DatasetSplit.Test, 1, PageSize));
        yield return ("gallery page 1, class + split", async (s, u, d, n) => await Datasets(s).PageImagesAsync(u, d, await ClassIdAsync(s, d), DatasetSplit.Val, 1, PageSize));
        yield return ("class chart (overview counts)", (s, u, d, n) => Datasets(s).GetAsync(u, d));
        yield return ("image size statistics", (s, u, d, n) => Datasets(s).GetSizesAsync(u, d));
        yield return ("content version (split panel)", (s, u, d, n) => s.GetRequiredService<DatasetSplitService>().VersionAsync(u, d));
    }

    private static async Task<int?> ClassIdAsync(IServiceProvider services, int datasetId)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetClasses.Where(c => c.DatasetId == datasetId && c.Ordinal == 3).Select(c => (int?)c.Id).SingleAsync();
    }

    private static async Task<string> TimeAsync(WebApplication app, int runs, Func<IServiceProvider, Task> query)
    {
        var times = new List<double>();
        for (var run = -3; run < runs; run++) // 3 warm-up runs
        {
            await using var scope = app.Services.CreateAsyncScope();
            var clock = Stopwatch.StartNew();
            await query(scope.ServiceProvider);
            if (run >= 0) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return $"{times[times.Count / 2]:F1} ({times[(int)Math.Ceiling(times.Count * 0.95) - 1]:F1})";
    }

    private static async Task<WebApplication> BuildAsync(string folder, CommandRecorder recorder)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = folder, EnvironmentName = Environments.Production });
        builder.Configuration["ConnectionStrings:TransferHub"] = $"Data Source={Path.Combine(folder, "bench.db")}";
        builder.Configuration["Storage:Root"] = Path.Combine(folder, "storage");
        builder.Logging.ClearProviders();
        builder.AddWebData();
        builder.Services.ConfigureDbContext<TransferHubDbContext>(options => options.AddInterceptors(recorder));
        builder.AddAccounts();
        builder.Services.AddTeams();
        builder.Services.AddProjects();
        builder.AddDatasets();
        var app = builder.Build();
        await app.MigrateDatabaseAsync();
        await app.EnsureSiteAdminAsync(); // the first account becomes site admin: the role must exist
        return app;
    }

    private static async Task<string> SeedTeamAsync(WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = new ApplicationUser { UserName = "bench@example.com", Email = "bench@example.com", EmailConfirmed = true };
        if (!(await users.CreateAsync(user)).Succeeded) throw new InvalidOperationException("Could not create the bench user.");
        // Other teams' members make the visibility check realistic.
        for (var n = 0; n < 20; n++)
            await users.CreateAsync(new ApplicationUser { UserName = $"other{n}@example.com", Email = $"other{n}@example.com" });
        return user.Id;
    }

    /// <summary>A dataset of <paramref name="size"/> image rows in <see cref="Classes"/> classes, split 70/15/15, with
    /// sizes spread from thumbnails to photos. Rows only: no file is written, so no thumbnail exists.</summary>
    private static async Task<int> SeedDatasetAsync(WebApplication app, string userId, int size)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var teamId = await services.GetRequiredService<TeamService>().CreateAsync(userId, $"Team {size}");
        var projectId = await services.GetRequiredService<ProjectService>().CreateAsync(userId, teamId, "Bench", "");
        var datasetId = await services.GetRequiredService<DatasetService>().CreateAsync(userId, projectId, $"{size} images");
        await using var db = await services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        var classes = Enumerable.Range(0, Classes).Select(c => new DatasetClass { DatasetId = datasetId, Name = $"class {c}", Ordinal = c }).ToList();
        db.DatasetClasses.AddRange(classes);
        await db.SaveChangesAsync();
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var random = new Random(size);
        int[] sides = [28, 96, 160, 256, 300, 480, 640, 800, 1024, 2048];
        for (var start = 0; start < size; start += 5_000)
        {
            for (var n = start; n < Math.Min(size, start + 5_000); n++)
            {
                var roll = random.Next(100);
                var side = sides[random.Next(sides.Length)];
                db.DatasetImages.Add(new DatasetImage
                {
                    DatasetId = datasetId,
                    Sha256 = Convert.ToHexStringLower(BitConverter.GetBytes((long)datasetId << 32 | (uint)n)).PadLeft(64, '0'),
                    ClassId = roll < 2 ? null : classes[random.Next(Classes)].Id,
                    Split = roll < 70 ? DatasetSplit.Train : roll < 85 ? DatasetSplit.Val : DatasetSplit.Test,
                    OriginalName = $"train/class/{n:D6}.jpg",
                    Width = side,
                    Height = side * 3 / 4,
                    PerceptualHash = random.NextInt64(),
                    AddedByUserId = userId,
                    AddedAt = DateTime.UtcNow,
                });
            }
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
        }
        return datasetId;
    }

    private static async Task ExplainAsync(WebApplication app, DbCommand command)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        foreach (DbParameter parameter in command.Parameters)
        {
            var copy = explain.CreateParameter();
            (copy.ParameterName, copy.Value) = (parameter.ParameterName, parameter.Value);
            explain.Parameters.Add(copy);
        }
        Console.WriteLine("   " + string.Join(" ", command.CommandText.Split('\n', StringSplitOptions.TrimEntries)));
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            Console.WriteLine($"     plan: {reader.GetString(3)}");
    }

    private static string SqliteVersion()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "select sqlite_version()";
        return (string)command.ExecuteScalar()!;
    }

    internal static string? Option(string[] args, string name) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    /// <summary>Keeps copies of the commands EF runs (for their query plans).</summary>
    private sealed class CommandRecorder : DbCommandInterceptor
    {
        public List<DbCommand> Commands { get; } = [];

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            var copy = new SqliteCommand(command.CommandText);
            foreach (SqliteParameter parameter in command.Parameters)
                copy.Parameters.AddWithValue(parameter.ParameterName, parameter.Value);
            lock (Commands) Commands.Add(copy);
            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<object> result, CancellationToken cancellationToken = default)
        {
            var copy = new SqliteCommand(command.CommandText);
            foreach (SqliteParameter parameter in command.Parameters)
                copy.Parameters.AddWithValue(parameter.ParameterName, parameter.Value);
            lock (Commands) Commands.Add(copy);
            return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
