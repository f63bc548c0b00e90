using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>This web process among the instances sharing one database (ADR 034): one id per process start.</summary>
public sealed class WebInstance
{
    /// <summary>"machine/process id/random", at most <see cref="TrainingJob.LeaseOwnerMaxLength"/> characters: the random
    /// part tells a restarted process (same machine, maybe the same process id in a container) from its predecessor.</summary>
    public string Id { get; } = $"{Clip(Environment.MachineName, 120)}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    private static string Clip(string value, int max) => value.Length <= max ? value : value[..max];
}

/// <summary>A follower found that its run's lease belongs to another instance now (this one paused or lost the database
/// for longer than <see cref="JobsOptions.LeaseSeconds"/> and was taken over): it must stop following without changing
/// the run.</summary>
public sealed class LeaseLostException(int jobId) : Exception($"Run {jobId} is followed by another web instance now (its lease passed to it).")
{
    public int JobId { get; } = jobId;
}

/// <summary>
/// Leases on active runs (ADR 034): which web instance follows a run, until when. Every change is one conditional
/// UPDATE whose row count says whether it took effect, so a run is claimed, taken over or written by one instance at a
/// time on both providers (SQLite serialises writers; on PostgreSQL a second UPDATE of the same row waits for the first
/// to commit and re-checks its WHERE clause on the row as committed).
/// </summary>
public sealed class RunLeases(IDbContextFactory<TransferHubDbContext> dbFactory, WebInstance instance, IOptions<JobsOptions> options, TimeProvider clock)
{
    /// <summary>This instance's id, as stored in <see cref="TrainingJob.LeaseOwner"/>.</summary>
    public string Owner => instance.Id;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>Now plus the lease, cut to whole microseconds (PostgreSQL's resolution) so that the value read back
    /// equals the one written on both providers.</summary>
    private DateTime Expiry
    {
        get
        {
            var ticks = (Now + TimeSpan.FromSeconds(options.Value.LeaseSeconds)).Ticks;
            return new DateTime(ticks - ticks % 10, DateTimeKind.Utc);
        }
    }

    /// <summary>Whether a lease held by <paramref name="owner"/> until <paramref name="expiresAt"/> may be taken by this
    /// instance now (nobody holds it, this instance does, or it has expired).</summary>
    public bool IsFree(string? owner, DateTime? expiresAt) => owner is null || owner == Owner || expiresAt is null || expiresAt < Now;

    /// <summary>Claims a queued run for this instance and a worker: only if it is still queued in attempt
    /// <paramref name="attempt"/> (no other instance claimed it since it was read). Returns false when another did.</summary>
    /// <param name="claimed">The run as read, with the assignment applied (status Starting, the next attempt, worker,
    /// reset progress): exactly these values are written.</param>
    public async Task<bool> ClaimQueuedAsync(TransferHubDbContext db, TrainingJob claimed, int attempt, CancellationToken cancellationToken)
    {
        var expiry = Expiry;
        var rows = await db.Jobs.Where(j => j.Id == claimed.Id && j.Status == JobStatus.Queued && j.Attempt == attempt)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, JobStatus.Starting)
                .SetProperty(j => j.Attempt, claimed.Attempt)
                .SetProperty(j => j.WorkerJobId, claimed.WorkerJobId)
                .SetProperty(j => j.WorkerId, claimed.WorkerId)
                .SetProperty(j => j.WorkerName, claimed.WorkerName)
                .SetProperty(j => j.StartedAt, claimed.StartedAt)
                .SetProperty(j => j.EpochsDone, 0)
                .SetProperty(j => j.LeaderboardJson, (string?)null)
                .SetProperty(j => j.CalibrationJson, (string?)null)
                .SetProperty(j => j.RejectionThreshold, (double?)null)
                .SetProperty(j => j.FeatureImagesCached, (int?)null)
                .SetProperty(j => j.FeatureImagesComputed, (int?)null)
                .SetProperty(j => j.FeatureExtractionSeconds, (double?)null)
                .SetProperty(j => j.LastEventSequence, 0L)
                .SetProperty(j => j.Message, (string?)null)
                .SetProperty(j => j.LeaseOwner, Owner)
                .SetProperty(j => j.LeaseExpiresAt, expiry), cancellationToken);
        return rows == 1;
    }

    /// <summary>Takes over a run that is starting, running or finishing and whose lease is free (<see cref="IsFree"/>).
    /// Returns the previous holder's id (or "" when there was none or it was this instance), or null when the run is not
    /// free: another instance holds it, took it first, or it is no longer followed.</summary>
    public async Task<string?> TryAdoptAsync(int jobId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var before = await db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => new { j.LeaseOwner, j.LeaseExpiresAt }).FirstOrDefaultAsync(cancellationToken);
        if (before is null || !IsFree(before.LeaseOwner, before.LeaseExpiresAt)) return null;
        var (now, expiry, owner) = (Now, Expiry, Owner);
        // The same holder and expiry as read: anyone who renewed or took it meanwhile wins.
        var rows = await db.Jobs.Where(j => j.Id == jobId && (j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing)
                && j.LeaseOwner == before.LeaseOwner && j.LeaseExpiresAt == before.LeaseExpiresAt
                && (j.LeaseOwner == null || j.LeaseOwner == owner || j.LeaseExpiresAt == null || j.LeaseExpiresAt < now))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseOwner, owner).SetProperty(j => j.LeaseExpiresAt, expiry), cancellationToken);
        return rows == 1 ? before.LeaseOwner is { } previous && previous != owner ? previous : "" : null;
    }

    /// <summary>Extends this instance's leases on <paramref name="jobIds"/> and returns those it still holds (a run
    /// missing from the answer was taken over by another instance, or has ended).</summary>
    public async Task<IReadOnlySet<int>> RenewAsync(IReadOnlyCollection<int> jobIds, CancellationToken cancellationToken)
    {
        if (jobIds.Count == 0) return new HashSet<int>();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (owner, expiry) = (Owner, Expiry);
        await db.Jobs.Where(j => jobIds.Contains(j.Id) && j.LeaseOwner == owner).ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseExpiresAt, expiry), cancellationToken);
        return (await db.Jobs.AsNoTracking().Where(j => jobIds.Contains(j.Id) && j.LeaseOwner == owner).Select(j => j.Id).ToListAsync(cancellationToken)).ToHashSet();
    }

    /// <summary>
    /// The fence before a follower writes: inside the caller's transaction, renews this instance's lease on the run (or
    /// takes it when nobody holds it) and thereby locks its row until the transaction ends (PostgreSQL: a row lock that a
    /// takeover's UPDATE waits for; SQLite: the database's one write lock). A takeover therefore happens entirely before
    /// or after the write, and a write never happens under another instance's lease, expired or not.
    /// </summary>
    /// <exception cref="LeaseLostException">Another instance holds the run now: the write must not happen.</exception>
    public async Task FenceAsync(TransferHubDbContext db, int jobId, CancellationToken cancellationToken)
    {
        var (owner, expiry) = (Owner, Expiry);
        var rows = await db.Jobs.Where(j => j.Id == jobId && (j.LeaseOwner == owner || j.LeaseOwner == null))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseOwner, owner).SetProperty(j => j.LeaseExpiresAt, expiry), cancellationToken);
        if (rows != 1) throw new LeaseLostException(jobId);
    }

    /// <summary>Hands back every run this instance holds (it is stopping): the next pass of any instance follows them.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var owner = Owner;
        await db.Jobs.Where(j => j.LeaseOwner == owner)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null), cancellationToken);
    }

    /// <summary>Clears the lease on a run that left the followed states (queued again, or ended).</summary>
    internal static void ClearIfUnfollowed(TrainingJob job)
    {
        if (job.Status is JobStatus.Starting or JobStatus.Running or JobStatus.Finishing) return;
        job.LeaseOwner = null;
        job.LeaseExpiresAt = null;
    }
}
