using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Jobs;

/// <summary>
/// Drives one attempt of a run from "assigned to a worker" (or "running / finishing, not followed": the web restarted)
/// to an end state: sends the images the worker lacks, starts the run (or re-attaches with WatchJob from the last stored
/// epoch), applies every event as it arrives (<see cref="RunEventApplier"/>), re-attaches a few times when the stream
/// breaks, and copies the trained model into the web's <see cref="ModelStore"/> before the run counts as completed.
/// </summary>
public sealed class RunFollower(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerGateway gateway,
    RunEventApplier events,
    RunTransitions transitions,
    RunImageSender imageSender,
    ModelStore models,
    IOptions<JobsOptions> options,
    TimeProvider clock,
    ILogger<RunFollower> logger)
{
    /// <param name="reattach">The run is known to be on the worker (it was running when the web stopped).</param>
    /// <remarks>Traced as a <c>transferhub.run.dispatch</c> span (image sync and model copy are its children; the worker's
    /// job span joins the same trace); log lines written meanwhile carry the run id and worker as scopes.</remarks>
    public async Task FollowAsync(int jobId, bool reattach, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Telemetry.Source.StartActivity("transferhub.run.dispatch");
        span?.SetTag(Telemetry.Telemetry.RunIdTag, jobId);
        span?.SetTag("transferhub.run.reattach", reattach);
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["RunId"] = jobId });
        try
        {
            await FollowCoreAsync(jobId, reattach, span, cancellationToken);
        }
        catch (Exception e) when (span is not null)
        {
            span.AddException(e);
            span.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private async Task FollowCoreAsync(int jobId, bool reattach, Activity? span, CancellationToken cancellationToken)
    {
        TrainingJob job;
        WorkerNode? worker;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken);
            worker = job.WorkerId is { } id ? await db.Workers.AsNoTracking().FirstOrDefaultAsync(w => w.Id == id, cancellationToken) : null;
        }
        if (worker is null)
        {
            await transitions.WorkerLostAsync(jobId, "Its worker was removed.", cancellationToken);
            return;
        }
        span?.SetTag(Telemetry.Telemetry.WorkerTag, worker.Name);
        span?.SetTag("transferhub.run.attempt", job.Attempt);
        using var workerScope = logger.BeginScope(new Dictionary<string, object?> { ["Worker"] = worker.Name });
        if (job.Status == JobStatus.Finishing)
        {
            // Trained and evaluated before the web stopped (or before an earlier copy failed): only the model is missing.
            await CopyModelAsync(jobId, worker, cancellationToken);
            return;
        }
        var classNames = JobService.ClassNames(job);
        IAsyncEnumerable<RunEvent> stream;
        try
        {
            // Starting can also mean the web stopped after the worker had already accepted the run: watch it then.
            if (reattach || await gateway.KnowsRunAsync(worker, job.WorkerJobId!, cancellationToken))
                stream = await WatchAsync(worker, job, cancellationToken);
            else
            {
                await SendImagesAsync(worker, job, cancellationToken);
                stream = gateway.StartRunAsync(worker, job.Spec!, job.WorkerJobId!, classNames, cancellationToken);
            }
        }
        catch (WorkerUnavailableException e)
        {
            await transitions.WorkerLostAsync(jobId, $"{worker.Name} could not be reached: {e.Detail}", cancellationToken);
            return;
        }
        catch (WorkerRefusedException e)
        {
            await transitions.FinishAsync(jobId, JobStatus.Failed, e.Kind == RefusalKind.InvalidInput ? e.Detail : $"{worker.Name} refused the run: {e.Detail}",
                cancellationToken);
            return;
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await foreach (var runEvent in stream.WithCancellation(cancellationToken))
                {
                    var applied = await events.ApplyAsync(jobId, runEvent, cancellationToken);
                    if (applied == Applied.Ended) return;
                    if (applied != Applied.Trained) continue;
                    await CopyModelAsync(jobId, worker, cancellationToken);
                    return;
                }
                logger.LogWarning("The event stream of run {JobId} ended without an outcome", jobId);
            }
            catch (WorkerRefusedException e)
            {
                switch (e.Kind)
                {
                    case RefusalKind.NotFound:
                        await transitions.WorkerLostAsync(jobId, $"{worker.Name} no longer knows this run (it restarted?).", cancellationToken);
                        return;
                    case RefusalKind.Busy:
                        await transitions.RequeueAsync(jobId, $"{worker.Name} was busy: {e.Detail}", cancellationToken);
                        return;
                    default:
                        await transitions.FinishAsync(jobId, JobStatus.Failed, $"{worker.Name} refused the run: {e.Detail}", cancellationToken);
                        return;
                }
            }
            catch (WorkerUnavailableException e)
            {
                logger.LogWarning("The event stream of run {JobId} from {Worker} broke: {Detail}", jobId, worker.Name, e.Detail);
            }
            if (attempt >= options.Value.ReattachAttempts)
            {
                await transitions.WorkerLostAsync(jobId, $"Lost contact with {worker.Name} and could not re-attach ({options.Value.ReattachAttempts} tries).",
                    cancellationToken);
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(options.Value.ReattachDelaySeconds), clock, cancellationToken);
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
                job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken);
            if (job.IsFinished) return;
            stream = await WatchAsync(worker, job, cancellationToken);
        }
    }

    /// <summary>Re-attaches from the last epoch stored here (a worker that no longer knows the run answers NotFound
    /// when the stream is read).</summary>
    private async Task<IAsyncEnumerable<RunEvent>> WatchAsync(WorkerNode worker, TrainingJob job, CancellationToken cancellationToken)
    {
        int afterEpoch;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            afterEpoch = await db.JobEpochs.Where(e => e.JobId == job.Id && e.Attempt == job.Attempt).MaxAsync(e => (int?)e.Epoch, cancellationToken) ?? 0;
        logger.LogInformation("Re-attaching to run {JobId} ({WorkerJobId}) after epoch {Epoch}", job.Id, job.WorkerJobId, afterEpoch);
        return gateway.WatchRunAsync(worker, job.WorkerJobId!, afterEpoch, JobService.ClassNames(job), cancellationToken);
    }

    /// <summary>Sends the run's images the worker does not have yet, saying so in the run's log.</summary>
    private async Task SendImagesAsync(WorkerNode worker, TrainingJob job, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Telemetry.Source.StartActivity("transferhub.run.image_sync");
        await imageSender.SendMissingAsync(worker, job.Spec!, (missing, all) =>
        {
            span?.SetTag("transferhub.images.missing", missing);
            span?.SetTag("transferhub.images.total", all);
            return transitions.LogAsync(job.Id, "info", missing == 0
                ? $"The worker already has all {all} images."
                : $"Sending {missing} of {all} images to the worker.", cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Copies a trained run's model from its worker and only then marks the run completed. A copy cut short (the
    /// worker or its connection died) is tried again with doubling pauses (Jobs:ModelCopyAttempts, from
    /// Jobs:ReattachDelaySeconds); after a web restart the scheduler finds the run "finishing" and copies again. A worker
    /// that no longer has the model fails the run, one that never answers leaves it "worker lost" — never completed
    /// without a model.
    /// </summary>
    private async Task CopyModelAsync(int jobId, WorkerNode worker, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Telemetry.Source.StartActivity("transferhub.run.model_copy");
        string? modelId;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            modelId = (await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken)).ModelId;
        if (string.IsNullOrEmpty(modelId))
        {
            await transitions.FinishAsync(jobId, JobStatus.Failed, "Trained, but the worker never named its model, so it could not be stored. " +
                "Re-queue the run to train it again.", cancellationToken);
            return;
        }
        var tries = 0;
        var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<WorkerUnavailableException>().Handle<IOException>(),
            MaxRetryAttempts = options.Value.ModelCopyAttempts - 1,
            Delay = TimeSpan.FromSeconds(options.Value.ReattachDelaySeconds),
            BackoffType = DelayBackoffType.Exponential,
            OnRetry = args =>
            {
                logger.LogWarning("Copying the model of run {JobId} from {Worker} failed (attempt {Attempt}): {Error}", jobId, worker.Name,
                    args.AttemptNumber + 1, args.Outcome.Exception?.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();
        try
        {
            var bytes = await retry.ExecuteAsync(async ct =>
            {
                tries++;
                return await models.SaveAsync(jobId, stream => gateway.CopyModelAsync(worker, modelId, stream, ct));
            }, cancellationToken);
            span?.SetTag("transferhub.model.bytes", bytes);
            span?.SetTag("transferhub.model.copy_attempts", tries);
            await transitions.CompleteAsync(jobId, bytes, tries, cancellationToken);
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.NotFound)
        {
            await transitions.FinishAsync(jobId, JobStatus.Failed, $"Trained, but {worker.Name} no longer has its model ({e.Detail}), so it " +
                "could not be stored. Re-queue the run to train it again.", cancellationToken);
        }
        catch (Exception e) when (e is WorkerUnavailableException or IOException && !cancellationToken.IsCancellationRequested)
        {
            await transitions.WorkerLostAsync(jobId, $"the trained model could not be copied from {worker.Name} ({tries} tries; last: {e.Message}).",
                cancellationToken);
        }
    }
}
