using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Testing;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Instances;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Instances;

/// <summary>One web instance of several: the real app on TestServer, on a PostgreSQL database and a storage root that
/// other instances share (issue 15 item 4, ADR 035).</summary>
public sealed class SharedDatabaseWebApp(string connectionString, string storageRoot) : WebAppFactory
{
    public override string ConnectionString => connectionString;

    public override string StorageRoot => storageRoot;

    /// <summary>Starts the host and waits until its bus listens (so nothing published afterwards is missed).</summary>
    public async Task<SharedDatabaseWebApp> StartedAsync()
    {
        var bus = Assert.IsType<PostgresLiveBus>(Service<ILiveBus>());
        await bus.Listening.WaitAsync(TimeSpan.FromSeconds(30));
        return this;
    }
}

/// <summary>Two web instances A and B on one PostgreSQL database: live updates, run notifications, presence, undo and
/// Data Protection keys work across them. Needs PostgreSQL (the PostgreSQL pass of the web tests).</summary>
public sealed class TwoInstances : IAsyncLifetime
{
    private string _database = "";
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "transferhub-web-tests", "shared-" + Guid.NewGuid().ToString("N"));

    public SharedDatabaseWebApp A { get; private set; } = default!;
    public SharedDatabaseWebApp B { get; private set; } = default!;

    /// <summary>Another instance on the same database and storage (the caller disposes it).</summary>
    public Task<SharedDatabaseWebApp> StartAnotherAsync() =>
        new SharedDatabaseWebApp(PostgresServer.Shared.ConnectionString(_database), _storage).StartedAsync();

    public async Task InitializeAsync()
    {
        if (!TestDatabase.IsPostgres) return; // every test is skipped
        _database = PostgresServer.Shared.CreateDatabase("transferhub_two");
        // One after the other: the first applies the migrations.
        A = await StartAnotherAsync();
        B = await StartAnotherAsync();
    }

    public async Task DisposeAsync()
    {
        if (!TestDatabase.IsPostgres) return;
        await A.DisposeAsync();
        await B.DisposeAsync();
        PostgresServer.Shared.DropDatabase(_database);
        try { Directory.Delete(_storage, recursive: true); } catch (IOException) { }
    }
}

public sealed class TwoInstancesTests(TwoInstances instances) : IClassFixture<TwoInstances>
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private SharedDatabaseWebApp A => instances.A;
    private SharedDatabaseWebApp B => instances.B;

    /// <summary>A dataset made on A: classes bag and sandal, 2 train images each.</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(A);
        using var services = new ServiceScope(A);
        var datasetId = await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Two instances");
        var entries = new[] { "bag", "sandal" }.SelectMany(cls => TestFiles.FashionEntries(cls, 2, $"train/{cls}"));
        Assert.Equal(4, (await services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }

    [PostgresFact]
    public async Task ARelabelOnAReachesASubscriberOnBWithinASecondAndAsOwnSubscribersOnlyOnce()
    {
        var (s, datasetId) = await DatasetAsync();
        var onB = new TaskCompletionSource<DatasetChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        long arrivedOnB = 0;
        var onA = 0;
        // (The import's change may still be on its way to B: only the relabel counts.)
        using var subscriptionB = B.Service<DatasetEvents>().Subscribe(datasetId, change =>
        {
            if (change.What.StartsWith("relabelled", StringComparison.Ordinal) && Interlocked.CompareExchange(ref arrivedOnB, Stopwatch.GetTimestamp(), 0) == 0)
                onB.TrySetResult(change);
            return Task.CompletedTask;
        });
        using var subscriptionA = A.Service<DatasetEvents>().Subscribe(datasetId, change =>
        {
            if (change.What.StartsWith("relabelled", StringComparison.Ordinal)) Interlocked.Increment(ref onA);
            return Task.CompletedTask;
        });
        await using var db = await A.DbAsync();
        var image = db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id).First();
        var sandal = db.DatasetClasses.Single(c => c.DatasetId == datasetId && c.Name == "sandal");

        using var scope = new ServiceScope(A);
        await scope.Get<CurationService>().RelabelAsync(s.EditorId, datasetId, [image.Id], sandal.Id);
        var saved = Stopwatch.GetTimestamp();
        var change = await onB.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var latency = Latency(saved, arrivedOnB);

        Assert.True(latency < Second, $"B heard of the relabel after {latency.TotalMilliseconds:0} ms");
        Assert.Equal($"{s.Email("editor")} relabelled 1 image as sandal", change.Note);
        Assert.Equal(scope.Get<ClientSession>().Id, change.Origin);
        await Task.Delay(300);
        Assert.Equal(1, onA);
    }

    [PostgresFact]
    public async Task ARunChangePersistedOnAReachesBsRunAndProjectSubscribers()
    {
        var (s, datasetId) = await DatasetAsync();
        int jobId;
        await using (var db = await A.DbAsync())
        {
            var job = new TrainingJob
            {
                DatasetId = datasetId, Kind = JobKind.Training, Status = JobStatus.Queued, SettingsJson = "{}", Backbone = "resnet18x3-imagenet",
                Mode = TrainingMode.FeatureExtraction, ClassNamesJson = "[\"bag\",\"sandal\"]", DatasetVersion = new string('a', 64), CreatedAt = DateTime.UtcNow,
            };
            db.Jobs.Add(job);
            await db.SaveChangesAsync();
            jobId = job.Id;
        }
        var byRun = new TaskCompletionSource<JobUpdate>(TaskCreationOptions.RunContinuationsAsynchronously);
        var byProject = new TaskCompletionSource<JobUpdate>(TaskCreationOptions.RunContinuationsAsynchronously);
        long arrived = 0;
        using var run = B.Service<JobNotifier>().SubscribeRun(jobId, u =>
        {
            if (Interlocked.CompareExchange(ref arrived, Stopwatch.GetTimestamp(), 0) == 0) byRun.TrySetResult(u);
            return Task.CompletedTask;
        });
        using var project = B.Service<JobNotifier>().SubscribeProject(s.ProjectId, u => { byProject.TrySetResult(u); return Task.CompletedTask; });

        await A.Service<RunTransitions>().FinishAsync(jobId, JobStatus.Failed, "Stopped by the test.", CancellationToken.None);
        var saved = Stopwatch.GetTimestamp();
        var update = await byRun.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var latency = Latency(saved, arrived);

        Assert.Equal(new JobUpdate(jobId, datasetId, JobStatus.Failed), update);
        Assert.Equal(update, await byProject.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(latency < Second, $"B heard of the run after {latency.TotalMilliseconds:0} ms");
    }

    /// <summary>From the change being saved (the publishing call returned) to its arrival on B; zero when it arrived
    /// before the call returned. What is measured is the trip between instances, not the database write.</summary>
    private static TimeSpan Latency(long saved, long arrived) => arrived <= saved ? TimeSpan.Zero : Stopwatch.GetElapsedTime(saved, arrived);

    private static async Task<bool> WithinAsync(TimeSpan limit, Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit) return false;
            await Task.Delay(10);
        }
        return true;
    }

    [PostgresFact]
    public async Task PresenceOnBSeesAViewerOnAAndAnInstanceStartedLaterDoesToo()
    {
        var datasetId = Random.Shared.Next(1_000_000, 2_000_000); // presence needs no row
        var watched = new SemaphoreSlim(0);
        using var watch = B.Service<DatasetPresence>().Watch(datasetId, () => { watched.Release(); return Task.CompletedTask; });

        var visit = A.Service<DatasetPresence>().Join(datasetId, Guid.NewGuid(), "u-ana", "ana@example.com");
        Assert.True(await watched.WaitAsync(Second), "B's page was not told of the viewer on A within a second");
        Assert.Equal([new DatasetViewer("u-ana", "ana@example.com")], B.Service<DatasetPresence>().ViewersOf(datasetId));

        // An instance that starts now asks the others who is viewing what.
        await using (var c = await instances.StartAnotherAsync())
        {
            var deadline = Stopwatch.StartNew();
            while (c.Service<DatasetPresence>().ViewersOf(datasetId).Count == 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
                await Task.Delay(20);
            Assert.Equal(["u-ana"], c.Service<DatasetPresence>().ViewersOf(datasetId).Select(v => v.UserId));
            c.Service<DatasetPresence>().Join(datasetId, Guid.NewGuid(), "u-bo", "bo@example.com");
            Assert.True(await WithinAsync(Second, () => B.Service<DatasetPresence>().ViewersOf(datasetId).Count == 2), "B did not see C's viewer within a second");
            Assert.Equal(["u-ana", "u-bo"], B.Service<DatasetPresence>().ViewersOf(datasetId).Select(v => v.UserId));
        }
        // C stopped (and said goodbye): its viewer goes.
        var gone = Stopwatch.StartNew();
        while (B.Service<DatasetPresence>().ViewersOf(datasetId).Count > 1 && gone.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(20);
        Assert.Equal(["u-ana"], B.Service<DatasetPresence>().ViewersOf(datasetId).Select(v => v.UserId));

        visit.Dispose();
        var left = Stopwatch.StartNew();
        while (B.Service<DatasetPresence>().ViewersOf(datasetId).Count > 0 && left.Elapsed < Second)
            await Task.Delay(20);
        Assert.Empty(B.Service<DatasetPresence>().ViewersOf(datasetId));
    }

    [PostgresFact]
    public async Task AnUndoOfADeleteOnACompletesOnB()
    {
        var (s, datasetId) = await DatasetAsync();
        await using var db = await A.DbAsync();
        var ids = db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id).Select(i => i.Id).Take(2).ToList();

        DeleteReceipt receipt;
        using (var onA = new ServiceScope(A))
            receipt = await onA.Get<CurationService>().DeleteAsync(s.EditorId, datasetId, ids);
        using var onB = new ServiceScope(B);
        var outcome = await onB.Get<CurationService>().RestoreAsync(s.EditorId, datasetId, receipt.UndoToken);

        Assert.Equal(2, outcome.Images);
        await using var after = await B.DbAsync();
        Assert.Equal(ids, after.DatasetImages.Where(i => i.DatasetId == datasetId && ids.Contains(i.Id)).OrderBy(i => i.Id).Select(i => i.Id).ToList());
        // Once: A cannot undo it again.
        using var again = new ServiceScope(A);
        await Assert.ThrowsAsync<Features.RuleViolationException>(() => again.Get<CurationService>().RestoreAsync(s.EditorId, datasetId, receipt.UndoToken));
    }

    [PostgresFact]
    public void AWorkerTokenEncryptedByAIsDecryptedByB()
    {
        var stored = A.Service<WorkerTokens>().Protect("worker-token-0123456789");

        Assert.Equal("worker-token-0123456789", B.Service<WorkerTokens>().Unprotect(stored));
    }
}
