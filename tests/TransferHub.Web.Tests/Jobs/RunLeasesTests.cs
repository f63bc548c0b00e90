using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Leases on runs between several web instances on one database (ADR 034), on the configured provider (SQLite,
/// or PostgreSQL with TRANSFERHUB_TEST_DATABASE=postgres): each "instance" here is its own <see cref="RunLeases"/> with its
/// own identity and clock over the app's database, racing on separate connections.</summary>
public sealed class RunLeasesTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    /// <summary>Starts an hour ahead of real time, so that the app's own scheduler (on real time, over the same database)
    /// never finds these tests' leases expired and takes their runs.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow.AddHours(1);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly IOptions<JobsOptions> Options = Microsoft.Extensions.Options.Options.Create(new JobsOptions { LeaseSeconds = 30, LeaseRenewSeconds = 10 });

    private RunLeases Instance(TimeProvider? clock = null) =>
        new(app.Service<IDbContextFactory<TransferHubDbContext>>(), new WebInstance(), Options, clock ?? TimeProvider.System);

    private async Task<int> RunAsync(JobStatus status, string? owner = null, DateTime? expiresAt = null)
    {
        var scenario = await TeamScenario.CreateAsync(app);
        var dataset = await app.InScopeAsync(s => s.GetRequiredService<DatasetService>().CreateAsync(scenario.OwnerId, scenario.ProjectId, "Leases"));
        await using var db = await app.DbAsync();
        var job = new TrainingJob
        {
            DatasetId = dataset, Kind = JobKind.Training, Status = status, SettingsJson = "{}", Backbone = "resnet18x3-imagenet",
            ClassNamesJson = """["a","b"]""", DatasetVersion = new string('a', 64), CreatedAt = DateTime.UtcNow,
            Attempt = status == JobStatus.Queued ? 0 : 1, WorkerJobId = status == JobStatus.Queued ? null : "run-x-a1",
            LeaseOwner = owner, LeaseExpiresAt = expiresAt,
        };
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        return job.Id;
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().Include(j => j.Epochs).FirstAsync(j => j.Id == id);
    }

    [Fact]
    public async Task AQueuedRunIsClaimedByExactlyOneOfEightInstancesRacingForIt()
    {
        var id = await RunAsync(JobStatus.Queued);
        var instances = Enumerable.Range(0, 8).Select(_ => Instance()).ToList();
        using var start = new ManualResetEventSlim();

        var racing = instances.Select(leases => Task.Run(async () =>
        {
            await using var db = await app.DbAsync();
            var job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id);
            job.Attempt++;
            job.WorkerJobId = $"run-{id}-a{job.Attempt}";
            job.StartedAt = DateTime.UtcNow;
            start.Wait();
            return (leases.Owner, Won: await leases.ClaimQueuedAsync(db, job, attempt: 0, CancellationToken.None));
        })).ToList();
        await Task.Delay(200); // every instance has read the queued run
        start.Set();
        var claims = await Task.WhenAll(racing);

        var winner = Assert.Single(claims, c => c.Won);
        var claimed = await JobAsync(id);
        Assert.Equal((JobStatus.Starting, 1, winner.Owner), (claimed.Status, claimed.Attempt, claimed.LeaseOwner));
        Assert.InRange(claimed.LeaseExpiresAt!.Value, DateTime.UtcNow.AddSeconds(20), DateTime.UtcNow.AddSeconds(31));
    }

    [Fact]
    public async Task ALiveLeaseIsNotTakenButAnExpiredOneIsTakenOverByExactlyOneInstance()
    {
        var clock = new ManualClock();
        var holder = Instance(clock);
        var id = await RunAsync(JobStatus.Running, holder.Owner, clock.Now.UtcDateTime.AddSeconds(30));
        var others = Enumerable.Range(0, 6).Select(_ => Instance(clock)).ToList();

        Assert.Null(await others[0].TryAdoptAsync(id, CancellationToken.None));

        clock.Now += TimeSpan.FromSeconds(31); // the holder stopped renewing
        var takeovers = await Task.WhenAll(others.Select(leases => Task.Run(() => leases.TryAdoptAsync(id, CancellationToken.None))));

        Assert.Equal(holder.Owner, Assert.Single(takeovers, t => t is not null));
        var job = await JobAsync(id);
        Assert.Contains(job.LeaseOwner, others.Select(o => o.Owner));
        Assert.Equal(clock.Now.UtcDateTime.AddSeconds(30), job.LeaseExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task AnInstanceThatLostItsRunToAnotherCanNoLongerStoreItsEpochsOrEndIt()
    {
        var clock = new ManualClock();
        var (zombie, successor) = (Instance(clock), Instance(clock));
        var id = await RunAsync(JobStatus.Running, zombie.Owner, clock.Now.UtcDateTime.AddSeconds(30));
        var notifier = app.Service<JobNotifier>();
        var dbFactory = app.Service<IDbContextFactory<TransferHubDbContext>>();
        RunEventApplier Applier(RunLeases leases) => new(dbFactory, notifier, leases, clock);
        RunEpoch Epoch(long sequence, int epoch) => new(sequence, epoch, 0.5, 0.8, 0.6, 0.7, 0.01, 1.5, 10, IsBest: true);

        Assert.Equal(Applied.Continue, await Applier(zombie).ApplyAsync(id, Epoch(1, 1), CancellationToken.None));
        clock.Now += TimeSpan.FromMinutes(1); // the zombie paused for longer than its lease…
        Assert.Equal(zombie.Owner, await successor.TryAdoptAsync(id, CancellationToken.None));

        // …and wakes up with the next epoch in hand, as the successor (re-attached after epoch 1) receives it too.
        await Assert.ThrowsAsync<LeaseLostException>(() => Applier(zombie).ApplyAsync(id, Epoch(2, 2), CancellationToken.None));
        await Assert.ThrowsAsync<LeaseLostException>(() =>
            new RunTransitions(dbFactory, notifier, zombie, clock).FinishAsync(id, JobStatus.Failed, "zombie", CancellationToken.None));
        Assert.Equal(Applied.Continue, await Applier(successor).ApplyAsync(id, Epoch(2, 2), CancellationToken.None));
        Assert.Equal(Applied.Continue, await Applier(successor).ApplyAsync(id, Epoch(2, 2), CancellationToken.None)); // a replay

        var job = await JobAsync(id);
        Assert.Equal(JobStatus.Running, job.Status);
        Assert.Equal([1, 2], job.Epochs.OrderBy(e => e.Epoch).Select(e => e.Epoch));
        Assert.Equal(successor.Owner, job.LeaseOwner);
    }

    [Fact]
    public async Task RenewingExtendsOnlyTheLeasesThisInstanceStillHoldsAndAnEndedRunGivesItsLeaseUp()
    {
        var clock = new ManualClock();
        var (mine, theirs) = (Instance(clock), Instance(clock));
        var held = await RunAsync(JobStatus.Running, mine.Owner, clock.Now.UtcDateTime.AddSeconds(5));
        var lost = await RunAsync(JobStatus.Running, theirs.Owner, clock.Now.UtcDateTime.AddSeconds(5));

        clock.Now += TimeSpan.FromSeconds(3);
        Assert.Equal([held], await mine.RenewAsync([held, lost], CancellationToken.None));
        Assert.Equal(clock.Now.UtcDateTime.AddSeconds(30), (await JobAsync(held)).LeaseExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(theirs.Owner, (await JobAsync(lost)).LeaseOwner);

        await new RunTransitions(app.Service<IDbContextFactory<TransferHubDbContext>>(), app.Service<JobNotifier>(), mine, clock)
            .FinishAsync(held, JobStatus.Cancelled, "Cancelled.", CancellationToken.None);
        var ended = await JobAsync(held);
        Assert.Equal((JobStatus.Cancelled, null, null), (ended.Status, ended.LeaseOwner, ended.LeaseExpiresAt));
        Assert.Empty(await mine.RenewAsync([held], CancellationToken.None));
    }

    [Fact]
    public void ARenewIntervalOverHalfTheLeaseIsRefusedAtStartWithBothSettingsNamed()
    {
        var options = new JobsOptions { LeaseSeconds = 10, LeaseRenewSeconds = 6 };
        var errors = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), errors, validateAllProperties: true));
        var error = Assert.Single(errors);
        Assert.Contains("Jobs:LeaseRenewSeconds (6) must be at most half of Jobs:LeaseSeconds (10)", error.ErrorMessage);
    }
}
