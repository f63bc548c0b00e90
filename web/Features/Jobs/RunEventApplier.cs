using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers.Gateway;
using static TransferHub.Web.Features.Jobs.RunTransitions;

namespace TransferHub.Web.Features.Jobs;

/// <summary>What applying a worker's event means for the one following the run.</summary>
public enum Applied
{
    /// <summary>Keep reading events.</summary>
    Continue,
    /// <summary>Trained and evaluated: copy the model next.</summary>
    Trained,
    /// <summary>The run has ended.</summary>
    Ended,
}

/// <summary>
/// Persists one event of a run's worker, then tells open pages (<see cref="JobNotifier"/>). Events replayed after a
/// re-attach (sequence not newer than the last stored) change nothing; values that are not finite numbers (a diverged
/// run) are stored as null, since SQLite keeps no NaN. Each event is written in one transaction behind the follower's
/// lease (<see cref="RunLeases.FenceAsync"/>), so an instance that lost the run to another never writes an event, and the
/// check "is this event new?" and the write are one step: no epoch is stored twice, none skipped.
/// </summary>
public sealed class RunEventApplier(IDbContextFactory<TransferHubDbContext> dbFactory, JobNotifier notifier, RunLeases leases, TimeProvider clock)
{
    /// <exception cref="LeaseLostException">Another web instance follows the run now; nothing was written.</exception>
    public async Task<Applied> ApplyAsync(int jobId, RunEvent runEvent, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await leases.FenceAsync(db, jobId, cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return Applied.Ended;
        if (job.Status == JobStatus.Finishing) return Applied.Trained;
        if (runEvent.Sequence != 0 && runEvent.Sequence <= job.LastEventSequence) return Applied.Continue; // replayed on re-attach
        job.LastEventSequence = runEvent.Sequence;
        var now = clock.GetUtcNow().UtcDateTime;
        var applied = Applied.Continue;
        switch (runEvent)
        {
            case RunStarted started:
                job.Status = JobStatus.Running;
                job.Device = Clip(started.Device, 200);
                (job.TrainImages, job.ValImages, job.TestImages) = (started.TrainImages, started.ValImages, started.TestImages);
                (job.TrainableParameters, job.TotalParameters) = (started.TrainableParameters, started.TotalParameters);
                job.EpochsTotal = started.Epochs;
                db.JobLogLines.Add(Line(job, now, "info", $"Started on {job.WorkerName} ({started.Device}): {started.TrainImages} train, " +
                    $"{started.ValImages} val, {started.TestImages} test images; {started.TrainableParameters:N0} of {started.TotalParameters:N0} parameters train."));
                break;
            case RunEpoch epoch:
                job.Status = JobStatus.Running;
                job.EpochsDone = Math.Max(job.EpochsDone, epoch.Epoch);
                if (!await db.JobEpochs.AnyAsync(e => e.JobId == jobId && e.Attempt == job.Attempt && e.Epoch == epoch.Epoch, cancellationToken))
                {
                    Telemetry.Telemetry.EpochDuration.Record(epoch.Seconds);
                    Telemetry.Telemetry.EpochThroughput.Record(epoch.ImagesPerSecond);
                    db.JobEpochs.Add(new JobEpoch
                    {
                        JobId = jobId, Attempt = job.Attempt, Epoch = epoch.Epoch, At = now,
                        TrainLoss = Finite(epoch.TrainLoss), TrainAccuracy = Finite(epoch.TrainAccuracy),
                        ValLoss = job.ValImages > 0 ? Finite(epoch.ValLoss) : null, ValAccuracy = job.ValImages > 0 ? Finite(epoch.ValAccuracy) : null,
                        LearningRate = Finite(epoch.LearningRate) ?? 0, Seconds = epoch.Seconds, ImagesPerSecond = epoch.ImagesPerSecond,
                        IsBest = epoch.IsBest,
                    });
                }
                break;
            case RunCandidate candidate:
                // Live leaderboard: merged into what is stored; the worker's final ranking replaces it on completion.
                job.LeaderboardJson = (ModelSelection.FromJson(job.LeaderboardJson) ?? ModelSelection.Empty).WithScored(candidate.Candidate).ToJson();
                break;
            case RunFeatures features:
                (job.FeatureImagesCached, job.FeatureImagesComputed) = (features.Cached, features.Computed);
                job.FeatureExtractionSeconds = Finite(features.Seconds);
                break;
            case RunLog log:
                db.JobLogLines.Add(new JobLogLine { JobId = jobId, Attempt = job.Attempt, At = now, Level = Clip(log.Level, 20),
                    Message = Clip(log.Message, JobLogLine.MessageMaxLength) });
                break;
            case RunTrained trained:
                var evaluation = trained.Evaluation;
                job.EvaluatedSplit = evaluation.Split;
                job.Accuracy = Finite(evaluation.Accuracy);
                job.Loss = Finite(evaluation.Loss);
                job.MacroF1 = Finite(evaluation.Macro.F1);
                job.BestEpoch = trained.BestEpoch;
                job.StoppedEarly = trained.StoppedEarly;
                job.TrainingSeconds = trained.TrainingSeconds;
                job.EvaluationJson = evaluation.ToJson();
                job.ModelId = trained.ModelId;
                if (trained.Selection is { } selection) job.LeaderboardJson = selection.ToJson();
                job.CalibrationJson = trained.Calibration?.ToJson();
                job.RejectionThreshold = trained.Calibration?.Choose(job.TargetPrecision ?? Contracts.Metrics.RejectionThreshold.DefaultTargetPrecision).Threshold;
                // Not "completed" yet: that needs the model in the web's storage (RunFollower copies it).
                job.Status = JobStatus.Finishing;
                db.JobLogLines.Add(Line(job, now, "info", trained.Selection?.WinnerRow is { } winner
                    ? $"Trained: {evaluation.Split} accuracy {evaluation.Accuracy:P1} with {winner.Name}, chosen by cross-validation " +
                      $"({winner.MetricName} {winner.Format(winner.CvMean)}) among {trained.Selection.Leaderboard.Count} candidates, {trained.TrainingSeconds:0.#} s in all. Copying the model."
                    : $"Trained: {evaluation.Split} accuracy {evaluation.Accuracy:P1}, best epoch {trained.BestEpoch}" +
                      $"{(trained.StoppedEarly ? " (stopped early)" : "")}, {trained.TrainingSeconds:0.#} s of training. Copying the model."));
                applied = Applied.Trained;
                break;
            case RunFailed failed:
                job.Status = failed.Kind switch
                {
                    RunFailureKind.Cancelled => JobStatus.Cancelled,
                    RunFailureKind.Diverged => JobStatus.Diverged,
                    _ => JobStatus.Failed,
                };
                job.Message = Clip(failed.Kind switch
                {
                    RunFailureKind.Cancelled => "Cancelled.",
                    RunFailureKind.Diverged => $"Diverged: {failed.Message}",
                    RunFailureKind.OutOfMemory => $"The worker ran out of memory: {failed.Message} Try a smaller batch or image size.",
                    _ => $"The worker reported an error: {failed.Message}",
                }, TrainingJob.MessageMaxLength);
                job.FinishedAt = now;
                db.JobLogLines.Add(Line(job, now, failed.Kind == RunFailureKind.Cancelled ? "info" : "error", job.Message));
                applied = Applied.Ended;
                break;
        }
        RunLeases.ClearIfUnfollowed(job);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (runEvent is RunFailed) Telemetry.Telemetry.RunEnded(job.Status, job.WorkerName);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
        return applied;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
