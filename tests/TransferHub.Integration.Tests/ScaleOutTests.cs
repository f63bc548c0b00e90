using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TransferHub.Testing;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>Skipped when no PostgreSQL server is installed (Debian's <c>postgresql</c> package; <c>.ci/run</c> installs it).</summary>
public sealed class PostgresInstalledFactAttribute : FactAttribute
{
    public PostgresInstalledFactAttribute()
    {
        if (PostgresServer.FindBinaries() is null)
            Skip = "Needs a PostgreSQL server: `apt-get install postgresql` (or TRANSFERHUB_PG_BIN); several web instances share one PostgreSQL database.";
    }
}

/// <summary>Several web instances over one PostgreSQL database, one storage root and one worker fleet (ADR 034).</summary>
public sealed class ScaleOutTests(ITestOutputHelper output) : HostedTest(output)
{
    private const string AddressA = "http://worker-a.test:5101";
    private const string AddressB = "http://worker-b.test:5102";

    /// <summary>
    /// Two web instances (A and B) and two real workers share a PostgreSQL database and a storage root; twenty short runs
    /// are launched, half through each instance. Once B follows a run, B is killed: it is an in-process host stopped with
    /// <c>Jobs:ReleaseLeasesOnStop = false</c>, so its follow tasks end, its lease renewals stop and it hands nothing back
    /// — what A sees of a process killed with SIGKILL (not a real process kill: starting the web and both workers as child
    /// processes would cost more than this test's time budget). A takes B's runs over when their leases (3 s) expire.
    /// Every run must complete exactly once: one "Completed" line, epochs 1..N of one attempt without gaps or repeats,
    /// one model file per run and no temporary files left.
    /// </summary>
    [PostgresInstalledFact]
    public async Task TwentyRunsThroughTwoInstancesCompleteExactlyOnceWhenOneInstanceIsKilledMidRun()
    {
        var clock = Stopwatch.StartNew();
        var server = PostgresServer.Shared;
        var database = server.CreateDatabase("transferhub_scaleout");
        var folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));
        try
        {
            var (workerA, workerB) = (NewWorker(), NewWorker());
            _ = workerB.Server; // loads libtorch and the backbones now, not inside a call's deadline
            var route = new Dictionary<string, WorkerHost> { [new Uri(AddressA).Host] = workerA, [new Uri(AddressB).Host] = workerB };
            WebHost Instance(bool releaseOnStop) => new(new WorkerSwitch(workerA), folder, new Dictionary<string, string>
            {
                [DataExtensions.ProviderSetting] = "Postgres",
                ["ConnectionStrings:TransferHub"] = server.ConnectionString(database),
                ["Workers:Local:Name"] = "worker-a",
                ["Workers:Local:Address"] = AddressA,
                ["Jobs:LeaseSeconds"] = "3",
                ["Jobs:LeaseRenewSeconds"] = "1",
                ["Jobs:ReattachDelaySeconds"] = "0.2",
                ["Jobs:ReleaseLeasesOnStop"] = releaseOnStop ? "true" : "false",
            }, services => services.Replace(ServiceDescriptor.Singleton<WorkerClientFactory>(new RoutingClients(route))));

            var a = Keep(Instance(releaseOnStop: true));
            var (user, _, dataset) = await TrainableDatasetAsync(a); // starts A: it migrates the database and creates the keys
            await a.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().RegisterAsync(user, "worker-b", AddressB, WorkerHost.Token));
            var b = Logged(Instance(releaseOnStop: false));
            var owners = (A: a.Services.GetRequiredService<RunLeases>().Owner, B: b.Services.GetRequiredService<RunLeases>().Owner);
            Output.WriteLine($"Set up in {clock.Elapsed.TotalSeconds:0.0} s; A = {owners.A}, B = {owners.B}");

            // The 20 runs take a couple of seconds in all: B must be able to dispatch before they are queued, or A
            // (started first) can claim every one of them (CI saw "Instance B never followed a run" on a busy machine).
            var ready = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (b.Services.GetRequiredService<WorkerMonitor>().Described.Count < 2)
            {
                Assert.True(DateTime.UtcNow < ready, "Instance B never described both workers.");
                await Task.Delay(50);
            }

            var settings = QuickRun(epochs: 2);
            settings.Repeats = 10;
            var ids = (await LaunchAsync(a, user, dataset, settings)).Concat(await LaunchAsync(b, user, dataset, settings)).ToList();
            Assert.Equal(20, ids.Distinct().Count());

            // Kill B as soon as it follows a run (holds its lease).
            var deadline = DateTime.UtcNow + Patience;
            int victim;
            while (true)
            {
                await using (var db = await Db(a))
                {
                    var held = await db.Jobs.Where(j => j.LeaseOwner == owners.B && (j.Status == JobStatus.Starting || j.Status == JobStatus.Running
                        || j.Status == JobStatus.Finishing)).Select(j => j.Id).FirstOrDefaultAsync();
                    if (held != 0) { victim = held; break; }
                }
                Assert.True(DateTime.UtcNow < deadline, "Instance B never followed a run.");
                await Task.Delay(20);
            }
            await b.DisposeAsync();
            Output.WriteLine($"Killed B at {clock.Elapsed.TotalSeconds:0.0} s while it held run {victim}");

            var runs = new List<TrainingJob>();
            foreach (var id in ids) runs.Add(await WaitForAsync(a, id, j => j.IsFinished, "an end state"));
            Output.WriteLine($"All 20 runs ended at {clock.Elapsed.TotalSeconds:0.0} s");

            var models = a.Services.GetRequiredService<ModelStore>();
            foreach (var run in runs)
            {
                Assert.True(run.Status == JobStatus.Completed, $"Run {run.Id}: {run.Status} {run.Message}");
                Assert.Equal([1, 2], run.Epochs.OrderBy(e => e.Attempt).ThenBy(e => e.Epoch).Select(e => e.Epoch)); // one attempt trained, once
                Assert.All(run.Epochs, e => Assert.Equal(run.Attempt, e.Attempt));
                Assert.Single(run.Logs, l => l.Message.StartsWith("Completed:"));
                Assert.Single(run.Logs, l => l.Message.StartsWith("Started on"));
                Assert.True(models.Contains(run.Id));
                Assert.Equal(run.ModelBytes, new FileInfo(Path.Combine(folder, "storage", "models", $"run-{run.Id}.zip")).Length);
                Assert.Null(run.LeaseOwner);
            }
            var victimRun = runs.Single(r => r.Id == victim);
            Assert.Contains(victimRun.Logs, l => l.Message.StartsWith("Followed by another web instance now"));
            Assert.Equal(20, Directory.GetFiles(Path.Combine(folder, "storage", "models"), "run-*.zip").Length);
            Assert.Empty(Directory.GetFiles(Path.Combine(folder, "storage"), "*.tmp", SearchOption.AllDirectories));
            Assert.Equal(2, runs.Select(r => r.WorkerName).Distinct().Count()); // both workers trained
            Output.WriteLine($"Busy refusals put back in the queue: {runs.Count(r => r.Attempt > 1)} run(s); " +
                $"workers: {string.Join(", ", runs.GroupBy(r => r.WorkerName).Select(g => $"{g.Key} {g.Count()}"))}");
        }
        finally
        {
            server.DropDatabase(database);
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<TransferHubDbContext> Db(WebHost web) =>
        web.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();

    /// <summary>Each worker address reaches its in-process worker.</summary>
    private sealed class RoutingClients(IReadOnlyDictionary<string, WorkerHost> workers) : WorkerClientFactory
    {
        protected override HttpMessageHandler CreateHandler(Uri address) => workers[address.Host].Server.CreateHandler();
    }
}
