using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Jobs;

/// <summary>
/// Owns every active run (ADR 007). A loop matches queued runs to enabled, non-draining workers with a free slot that
/// offer their backbone (asked fresh each pass) and hands each assigned run to a <see cref="RunFollower"/> task. Runs the
/// database says are starting, running or finishing but nobody follows (the web restarted) are followed again:
/// re-attached from the last stored epoch, or their model copied. State changes outside the worker's events go through
/// <see cref="RunTransitions"/>.
/// <para>Several web instances may share one database (ADR 034): a queued run is claimed by one conditional UPDATE, so
/// exactly one instance starts it; the claimer holds a lease on the run (<see cref="RunLeases"/>), renewed every
/// Jobs:LeaseRenewSeconds while it follows the run. A run whose lease has expired (its instance died) is taken over by
/// the next instance's pass: re-attached from the last stored epoch, as after a restart. A run this instance finds taken
/// over (it paused for longer than the lease) is no longer followed here.</para>
/// </summary>
public sealed class JobScheduler(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    IServiceScopeFactory scopes,
    WorkerGateway gateway,
    RunFollower follower,
    RunTransitions transitions,
    RunLeases leases,
    JobNotifier notifier,
    IOptions<JobsOptions> options,
    TimeProvider clock,
    ILogger<JobScheduler> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<int, Tracked> _tracked = new();
    private readonly SemaphoreSlim _wake = new(0);
    private CancellationToken _stopping;

    private sealed record Tracked(Task Task, CancellationTokenSource Stop);

    /// <summary>How many automatic re-queues a new run gets when its worker is lost (Jobs:WorkerLostRetries).</summary>
    public int WorkerLostRetries => options.Value.WorkerLostRetries;

    /// <summary>Look at the queue now (a run was queued, cancelled or a worker changed).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>Asks the worker running <paramref name="jobId"/> to cancel it; the worker's "cancelled" event then ends
    /// the run. When the worker cannot be reached the run is cancelled here and no longer followed.</summary>
    public async Task CancelRunningAsync(int jobId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        var worker = job.WorkerId is { } id ? await db.Workers.FindAsync([id], cancellationToken) : null;
        if (worker is not null && job.WorkerJobId is not null && job.Status != JobStatus.Finishing)
        {
            try
            {
                await gateway.CancelRunAsync(worker, job.WorkerJobId, cancellationToken);
                return;
            }
            catch (Exception e) when (e is WorkerUnavailableException or WorkerRefusedException)
            {
                logger.LogWarning("Cancelling run {JobId} on {Worker} failed ({Error}); cancelling it here", jobId, worker.Name, e.Message);
            }
        }
        if (_tracked.TryGetValue(jobId, out var tracked)) await tracked.Stop.CancelAsync();
        await transitions.FinishAsync(jobId, JobStatus.Cancelled, "Cancelled (the worker could not be reached to stop it).", cancellationToken, asHolder: false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var renewing = RenewLeasesAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DispatchAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "The job scheduler's pass failed; trying again");
            }
            catch (OperationCanceledException)
            {
                // Stopped in the middle of a pass (a query in flight is cancelled, as Npgsql does): end like a stop while
                // waiting, not as a failed service (which would stop the whole app).
                break;
            }
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(options.Value.PollSeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // Leave running jobs running on their workers: the next start (or another instance) re-attaches to them.
        await Task.WhenAll(_tracked.Values.Select(t => t.Task));
        await renewing;
        if (options.Value.ReleaseLeasesOnStop)
        {
            try
            {
                await leases.ReleaseAllAsync(CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning("Handing back this instance's runs failed ({Error}); other instances follow them once their leases expire", e.Message);
            }
        }
    }

    /// <summary>Every Jobs:LeaseRenewSeconds, extends the leases of the runs followed here; stops following any run that
    /// another instance has taken over meanwhile (this one was paused, or cut off from the database, for longer than
    /// Jobs:LeaseSeconds). A failed renewal is tried again at the next tick; events keep renewing through the fence.</summary>
    private async Task RenewLeasesAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.LeaseRenewSeconds), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var followed = _tracked.Keys.ToList();
                if (followed.Count == 0) continue;
                try
                {
                    var held = await leases.RenewAsync(followed, stoppingToken);
                    foreach (var lost in followed.Where(id => !held.Contains(id)))
                        if (_tracked.TryGetValue(lost, out var tracked) && !tracked.Stop.IsCancellationRequested)
                        {
                            logger.LogWarning("Run {JobId} is no longer held by this instance ({Instance}); it stops following it", lost, leases.Owner);
                            await tracked.Stop.CancelAsync();
                        }
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning("Renewing the leases of {Count} run(s) failed: {Error}", followed.Count, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task DispatchAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        // Runs the database says are on a worker but nobody follows (the web restarted, or the instance that held them
        // stopped renewing their lease): follow them again, once this instance holds their lease.
        var orphans = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing)
            .Select(j => new { j.Id, j.Status, j.LeaseOwner, j.LeaseExpiresAt }).ToListAsync(cancellationToken);
        foreach (var orphan in orphans.Where(o => !_tracked.ContainsKey(o.Id) && leases.IsFree(o.LeaseOwner, o.LeaseExpiresAt)))
        {
            if (await leases.TryAdoptAsync(orphan.Id, cancellationToken) is not { } previous) continue;
            if (previous.Length > 0)
            {
                logger.LogWarning("Taking over run {JobId} from web instance {Previous}, whose lease expired", orphan.Id, previous);
                await transitions.LogAsync(orphan.Id, "info", $"Followed by another web instance now (the one following it stopped renewing its lease).",
                    cancellationToken);
            }
            Track(orphan.Id, reattach: orphan.Status == JobStatus.Running);
        }

        var queued = await db.Jobs.AsNoTracking().Where(j => j.Status == JobStatus.Queued).OrderBy(j => j.Id).ToListAsync(cancellationToken);
        if (queued.Count == 0) return;

        var workers = await db.Workers.Where(w => w.Enabled && !w.Draining).ToListAsync(cancellationToken);
        var free = await FreeSlotsAsync(db, workers, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var assigned = new List<TrainingJob>();
        var waiting = new List<TrainingJob>();
        foreach (var job in queued)
        {
            var offering = workers.Where(w => w.Status == WorkerStatus.Online && w.Backbones.Split(',').Contains(job.Backbone)).ToList();
            var worker = offering.Where(w => free.GetValueOrDefault(w.Id) > 0)
                .OrderByDescending(w => w.DeviceKind == "cuda").ThenByDescending(w => free[w.Id]).FirstOrDefault();
            if (worker is null)
            {
                job.Message = offering.Count == 0 ? $"Waiting: no online worker offers {job.Backbone}." : "Waiting for a free worker.";
                waiting.Add(job);
                continue;
            }
            free[worker.Id]--;
            var attemptRead = job.Attempt;
            job.Status = JobStatus.Starting;
            job.Attempt++;
            job.WorkerJobId = $"run-{job.Id}-a{job.Attempt}";
            job.WorkerId = worker.Id;
            job.WorkerName = worker.Name;
            job.StartedAt = now;
            job.EpochsDone = 0;
            job.LeaderboardJson = null;
            job.CalibrationJson = null;
            job.RejectionThreshold = null;
            (job.FeatureImagesCached, job.FeatureImagesComputed, job.FeatureExtractionSeconds) = (null, null, null);
            job.LastEventSequence = 0;
            job.Message = null;
            // One conditional UPDATE: only if the run is still queued in the attempt read here. Another instance that
            // claimed it first wins; its slot on this worker is then free again for the next run.
            if (!await leases.ClaimQueuedAsync(db, job, attemptRead, cancellationToken))
            {
                logger.LogDebug("Run {JobId} was claimed by another web instance", job.Id);
                free[worker.Id]++;
                continue;
            }
            if (attemptRead == 0) Telemetry.Telemetry.QueueWait.Record(Math.Max(0, (now - job.CreatedAt).TotalSeconds));
            assigned.Add(job);
        }
        // The waiting message only for runs still queued (another instance may have claimed one meanwhile).
        foreach (var job in waiting)
        {
            var message = job.Message;
            await db.Jobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Queued && j.Message != message)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Message, message), cancellationToken);
        }
        foreach (var job in assigned)
        {
            notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
            Telemetry.Telemetry.RunsStarted.Add(1, new KeyValuePair<string, object?>(Telemetry.Telemetry.WorkerTag, job.WorkerName));
            Track(job.Id, reattach: false);
        }
    }

    /// <summary>Free slots per worker that answers now (a fresh word: is it up, what does it offer, how many slots);
    /// updates <paramref name="workers"/> with what each said.</summary>
    private async Task<Dictionary<int, int>> FreeSlotsAsync(TransferHubDbContext db, List<WorkerNode> workers, CancellationToken cancellationToken)
    {
        var busy = await db.Jobs.Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.WorkerId != null)
            .GroupBy(j => j.WorkerId!.Value).Select(g => new { WorkerId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.WorkerId, g => g.Count, cancellationToken);
        var free = new Dictionary<int, int>();
        await using var scope = scopes.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<WorkerRegistryService>();
        foreach (var worker in workers.Where(w => Math.Max(1, w.Capacity) > busy.GetValueOrDefault(w.Id)))
            if ((await registry.ContactAsync(worker, cancellationToken)).Ok)
                free[worker.Id] = Math.Max(1, worker.Capacity) - busy.GetValueOrDefault(worker.Id);
        return free;
    }

    /// <summary>Starts following a run unless it is followed already. The entry is registered before the task may
    /// run, so a follow that ends at once can never leave a stale entry behind (or remove another's).</summary>
    private void Track(int jobId, bool reattach)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Tracked? self = null;
        var task = Task.Run(async () =>
        {
            await registered.Task;
            Telemetry.Telemetry.RunsRunning.Add(1);
            try
            {
                await follower.FollowAsync(jobId, reattach, stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Web shutting down (the run goes on and is re-attached at the next start), cancelled here, or taken over.
            }
            catch (LeaseLostException e)
            {
                logger.LogWarning("Stopped following run {JobId}: {Reason}", jobId, e.Message);
            }
            catch (Exception e)
            {
                logger.LogError(e, "Following run {JobId} failed", jobId);
                try
                {
                    await transitions.FinishAsync(jobId, JobStatus.Failed, $"The web app failed while following the run: {e.Message}", CancellationToken.None);
                }
                catch (LeaseLostException)
                {
                    // Another instance follows it now: it decides.
                }
            }
            finally
            {
                Telemetry.Telemetry.RunsRunning.Add(-1);
                _tracked.TryRemove(new KeyValuePair<int, Tracked>(jobId, self!));
                stop.Dispose();
                Wake();
            }
        });
        self = new Tracked(task, stop);
        if (_tracked.TryAdd(jobId, self))
            registered.SetResult();
        else
        {
            stop.Cancel();
            registered.SetResult(); // it finds its token cancelled and ends without doing anything
        }
    }
}
