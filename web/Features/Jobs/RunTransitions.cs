using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>
/// The state changes of a run that the scheduler makes outside the worker's own events: ended (failed, cancelled,
/// worker lost), put back in the queue, completed once its model is stored, and the scheduler's own log lines. Each
/// change is persisted, then published to <see cref="JobNotifier"/>; a run that has already ended is never changed.
/// Changes made by the run's follower (<c>asHolder</c>, the default) are fenced by its lease (<see cref="RunLeases.FenceAsync"/>):
/// they throw <see cref="LeaseLostException"/> and change nothing when another web instance has taken the run over.
/// A run that leaves the followed states (queued again, or ended) gives its lease up.
/// </summary>
public sealed class RunTransitions(IDbContextFactory<TransferHubDbContext> dbFactory, JobNotifier notifier, RunLeases leases, TimeProvider clock)
{
    /// <summary>Ends an active run with <paramref name="status"/> and a message for the user.</summary>
    /// <param name="asHolder">False for a change that does not come from the run's follower (a user's cancel when the
    /// worker cannot be reached), which any instance may make.</param>
    public Task FinishAsync(int jobId, JobStatus status, string message, CancellationToken cancellationToken, bool asHolder = true) =>
        ChangeAsync(jobId, asHolder, (job, now) =>
        {
            job.Status = status;
            job.Message = Clip(message, TrainingJob.MessageMaxLength);
            job.FinishedAt = now;
            return null;
        }, cancellationToken);

    /// <summary>The run's worker is gone: re-queued while automatic retries are left (Jobs:WorkerLostRetries), else
    /// "worker lost" with its metrics kept.</summary>
    public Task WorkerLostAsync(int jobId, string why, CancellationToken cancellationToken) =>
        ChangeAsync(jobId, asHolder: true, (job, now) =>
        {
            if (job.AutoRetriesLeft > 0 && !job.CancelRequested)
            {
                job.AutoRetriesLeft--;
                job.Status = JobStatus.Queued;
                job.Message = Clip($"Worker lost ({why}); re-queued automatically.", TrainingJob.MessageMaxLength);
            }
            else
            {
                job.Status = JobStatus.WorkerLost;
                job.Message = Clip($"Worker lost: {why} The metrics so far are kept; re-queue to run it again.", TrainingJob.MessageMaxLength);
                job.FinishedAt = now;
            }
            return ("error", job.Message);
        }, cancellationToken);

    /// <summary>Back in the queue (the worker was busy after all).</summary>
    public Task RequeueAsync(int jobId, string why, CancellationToken cancellationToken) =>
        ChangeAsync(jobId, asHolder: true, (job, _) =>
        {
            job.Status = JobStatus.Queued;
            job.Message = Clip(why, TrainingJob.MessageMaxLength);
            return null;
        }, cancellationToken);

    /// <summary>The model is stored: the run is completed. Only a run that is finishing can complete.</summary>
    public async Task CompleteAsync(int jobId, long modelBytes, int attempt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await leases.FenceAsync(db, jobId, cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.Status != JobStatus.Finishing) return;
        var now = clock.GetUtcNow().UtcDateTime;
        job.ModelBytes = modelBytes;
        job.Status = JobStatus.Completed;
        job.FinishedAt = now;
        RunLeases.ClearIfUnfollowed(job);
        Telemetry.Telemetry.RunEnded(JobStatus.Completed, job.WorkerName);
        db.JobLogLines.Add(Line(job, now, "info", $"Completed: {job.EvaluatedSplit} accuracy {job.Accuracy:P1}; model stored " +
            $"({(modelBytes < 1e6 ? $"{modelBytes / 1e3:0.#} kB" : $"{modelBytes / 1e6:0.#} MB")}{(attempt > 1 ? $", copy attempt {attempt}" : "")})."));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    /// <summary>A line in the run's log, from the scheduler itself (its follower, fenced by the lease).</summary>
    public async Task LogAsync(int jobId, string level, string message, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await leases.FenceAsync(db, jobId, cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        db.JobLogLines.Add(Line(job, clock.GetUtcNow().UtcDateTime, level, message));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    internal static JobLogLine Line(TrainingJob job, DateTime at, string level, string message) =>
        new() { JobId = job.Id, Attempt = job.Attempt, At = at, Level = level, Message = Clip(message, JobLogLine.MessageMaxLength) };

    internal static string Clip(string value, int max) => value.Length <= max ? value : value[..(max - 1)] + "…";

    /// <param name="change">Changes the run; returns a log line (level, message) to add, or null.</param>
    private async Task ChangeAsync(int jobId, bool asHolder, Func<TrainingJob, DateTime, (string Level, string Message)?> change,
        CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (asHolder) await leases.FenceAsync(db, jobId, cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return;
        var now = clock.GetUtcNow().UtcDateTime;
        if (change(job, now) is { } line) db.JobLogLines.Add(Line(job, now, line.Level, line.Message));
        RunLeases.ClearIfUnfollowed(job);
        if (job.IsFinished) Telemetry.Telemetry.RunEnded(job.Status, job.WorkerName);
        else if (job.Status == JobStatus.Queued) Telemetry.Telemetry.RunsQueued.Add(1);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }
}
