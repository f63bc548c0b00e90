using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Storage;
using TransferHub.Worker.V1;

using JobStatus = TransferHub.Web.Data.JobStatus;

namespace TransferHub.Web.Features.Jobs;

/// <summary>
/// Owns every running job (ADR 007). A loop matches queued jobs to enabled, idle workers that offer their backbone;
/// each assigned job gets a task that sends the images the worker lacks, starts the job and persists every event
/// as it arrives, publishing to <see cref="JobNotifier"/>. Jobs found Starting/Running without a task (the web
/// restarted) are re-attached with WatchJob from the last persisted epoch. A stream that breaks is re-attached a
/// few times; a worker that stays away (or no longer knows the job) makes the job "worker lost", metrics kept.
/// </summary>
public sealed class JobScheduler(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    IServiceScopeFactory scopes,
    WorkerClientFactory clients,
    ImageStore images,
    ModelStore models,
    JobNotifier notifier,
    IOptions<JobsOptions> options,
    TimeProvider clock,
    ILogger<JobScheduler> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<int, Tracked> _tracked = new();
    private readonly SemaphoreSlim _wake = new(0);
    private CancellationToken _stopping;

    private sealed record Tracked(Task Task, CancellationTokenSource Stop);

    /// <summary>How many automatic re-queues a new job gets when its worker is lost (Jobs:WorkerLostRetries).</summary>
    public int WorkerLostRetries => options.Value.WorkerLostRetries;

    /// <summary>Look at the queue now (a job was queued, cancelled or a worker changed).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>Asks the worker running <paramref name="jobId"/> to cancel it; the worker's "cancelled" event then
    /// ends the job. When the worker cannot be reached the job is cancelled here and no longer followed.</summary>
    public async Task CancelRunningAsync(int jobId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        var worker = job.WorkerId is { } id ? await db.Workers.FindAsync([id], cancellationToken) : null;
        if (worker is not null && job.WorkerJobId is not null)
        {
            try
            {
                await ClientFor(worker).CancelJobAsync(new CancelJobRequest { JobId = job.WorkerJobId },
                    deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
                return;
            }
            catch (RpcException e)
            {
                logger.LogWarning("Cancelling run {JobId} on {Worker} failed ({Status}); cancelling it here", jobId, worker.Name, e.StatusCode);
            }
        }
        if (_tracked.TryGetValue(jobId, out var tracked)) await tracked.Stop.CancelAsync();
        await FinishAsync(jobId, JobStatus.Cancelled, "Cancelled (the worker could not be reached to stop it).", cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
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
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(options.Value.PollSeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // Leave running jobs running on their workers: the next start re-attaches to them.
        await Task.WhenAll(_tracked.Values.Select(t => t.Task));
    }

    private async Task DispatchAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        // Jobs the database says are on a worker but nobody follows: the web restarted. Re-attach.
        var orphans = await db.Jobs.Where(j => j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing)
            .Select(j => new { j.Id, j.Status }).ToListAsync(cancellationToken);
        foreach (var orphan in orphans.Where(o => !_tracked.ContainsKey(o.Id)))
            Track(orphan.Id, reattach: orphan.Status == JobStatus.Running);

        var queued = await db.Jobs.Where(j => j.Status == JobStatus.Queued).OrderBy(j => j.Id).ToListAsync(cancellationToken);
        if (queued.Count == 0) return;

        var workers = await db.Workers.Where(w => w.Enabled && !w.Draining).ToListAsync(cancellationToken);
        var busy = await db.Jobs.Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.WorkerId != null)
            .GroupBy(j => j.WorkerId!.Value).Select(g => new { WorkerId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.WorkerId, g => g.Count, cancellationToken);
        var free = new Dictionary<int, int>();
        await using (var scope = scopes.CreateAsyncScope())
        {
            var registry = scope.ServiceProvider.GetRequiredService<WorkerRegistryService>();
            foreach (var worker in workers)
            {
                var slots = Math.Max(1, worker.Capacity) - busy.GetValueOrDefault(worker.Id);
                if (slots <= 0) continue;
                // Fresh word from the worker: is it up, what does it offer, how many slots does it have?
                var contact = await registry.ContactAsync(worker, cancellationToken);
                if (contact.Ok) free[worker.Id] = Math.Max(1, worker.Capacity) - busy.GetValueOrDefault(worker.Id);
            }
        }
        var now = clock.GetUtcNow().UtcDateTime;
        var assigned = new List<TrainingJob>();
        foreach (var job in queued)
        {
            var offering = workers.Where(w => w.Status == WorkerStatus.Online
                && w.Backbones.Split(',').Contains(job.Backbone)).ToList();
            var worker = offering.Where(w => free.GetValueOrDefault(w.Id) > 0)
                .OrderByDescending(w => w.DeviceKind == "cuda").ThenByDescending(w => free[w.Id]).FirstOrDefault();
            if (worker is null)
            {
                job.Message = offering.Count == 0
                    ? $"Waiting: no online worker offers {job.Backbone}."
                    : "Waiting for a free worker.";
                continue;
            }
            free[worker.Id]--;
            job.Status = JobStatus.Starting;
            job.Attempt++;
            job.WorkerJobId = $"run-{job.Id}-a{job.Attempt}";
            job.WorkerId = worker.Id;
            job.WorkerName = worker.Name;
            job.StartedAt = now;
            job.EpochsDone = 0;
            job.LastEventSequence = 0;
            job.Message = null;
            assigned.Add(job);
        }
        await db.SaveChangesAsync(cancellationToken);
        foreach (var job in assigned)
        {
            notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
            Track(job.Id, reattach: false);
        }
    }

    private void Track(int jobId, bool reattach)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        var task = Task.Run(async () =>
        {
            try
            {
                await FollowAsync(jobId, reattach, stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Web shutting down (the job goes on and is re-attached at the next start) or cancelled here; a gRPC
                // call cut short this way ends in RpcException(Cancelled) rather than OperationCanceledException.
            }
            catch (Exception e)
            {
                logger.LogError(e, "Following run {JobId} failed", jobId);
                await FinishAsync(jobId, JobStatus.Failed, $"The web app failed while following the run: {e.Message}", CancellationToken.None);
            }
            finally
            {
                _tracked.TryRemove(jobId, out _);
                stop.Dispose();
                Wake();
            }
        });
        if (!_tracked.TryAdd(jobId, new Tracked(task, stop))) stop.Cancel();
    }

    /// <summary>Drives one attempt of a job from "assigned" (or "running, not followed") to an end state.</summary>
    private async Task FollowAsync(int jobId, bool reattach, CancellationToken cancellationToken)
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
            await WorkerLostAsync(jobId, "Its worker was removed.", cancellationToken);
            return;
        }
        var client = ClientFor(worker);
        if (job.Status == JobStatus.Finishing)
        {
            // Trained and evaluated before the web stopped (or before an earlier copy failed): only the model is missing.
            await CopyModelAsync(jobId, worker, client, cancellationToken);
            return;
        }
        AsyncServerStreamingCall<JobEvent> call;
        bool known;
        try
        {
            known = reattach || await WorkerKnowsAsync(client, job.WorkerJobId!, cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            await WorkerLostAsync(jobId, $"{worker.Name} could not be reached: {e.Status.Detail}", cancellationToken);
            return;
        }
        if (known)
        {
            // Running, or Starting when the web stopped after the worker had already accepted the run.
            call = await WatchAsync(client, job, cancellationToken);
        }
        else
        {
            var spec = JobSpec.Parser.ParseFrom(job.Spec);
            spec.JobId = job.WorkerJobId;
            try
            {
                await SendImagesAsync(client, job, spec, cancellationToken);
                call = client.StartJob(spec, cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                await WorkerLostAsync(jobId, $"{worker.Name} could not be reached: {e.Status.Detail}", cancellationToken);
                return;
            }
            catch (JobRejectedException e)
            {
                await FinishAsync(jobId, JobStatus.Failed, e.Message, cancellationToken);
                return;
            }
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using (call)
                {
                    await foreach (var jobEvent in call.ResponseStream.ReadAllAsync(cancellationToken))
                    {
                        var applied = await ApplyAsync(jobId, jobEvent, cancellationToken);
                        if (applied == Applied.Ended) return;
                        if (applied == Applied.Trained)
                        {
                            await CopyModelAsync(jobId, worker, client, cancellationToken);
                            return;
                        }
                    }
                }
                logger.LogWarning("The event stream of run {JobId} ended without an outcome", jobId);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted
                                             or StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                if (e.StatusCode == StatusCode.NotFound)
                {
                    await WorkerLostAsync(jobId, $"{worker.Name} no longer knows this run (it restarted?).", cancellationToken);
                    return;
                }
                if (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    await RequeueAsync(jobId, $"{worker.Name} was busy: {e.Status.Detail}", cancellationToken);
                    return;
                }
                await FinishAsync(jobId, JobStatus.Failed, $"{worker.Name} refused the run: {e.Status.Detail}", cancellationToken);
                return;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("The event stream of run {JobId} from {Worker} broke: {Status} {Detail}", jobId, worker.Name, e.StatusCode, e.Status.Detail);
            }
            if (attempt >= options.Value.ReattachAttempts)
            {
                await WorkerLostAsync(jobId, $"Lost contact with {worker.Name} and could not re-attach ({options.Value.ReattachAttempts} tries).", cancellationToken);
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(options.Value.ReattachDelaySeconds), clock, cancellationToken);
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
                job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken);
            if (job.IsFinished) return;
            call = await WatchAsync(client, job, cancellationToken);
        }
    }

    /// <summary>Re-attaches to a job the worker is (or was) running, from the last epoch persisted here (a worker that
    /// no longer knows the job answers NotFound when the stream is read).</summary>
    private async Task<AsyncServerStreamingCall<JobEvent>> WatchAsync(WorkerService.WorkerServiceClient client, TrainingJob job,
        CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var afterEpoch = await db.JobEpochs.Where(e => e.JobId == job.Id && e.Attempt == job.Attempt)
            .MaxAsync(e => (int?)e.Epoch, cancellationToken) ?? 0;
        logger.LogInformation("Re-attaching to run {JobId} ({WorkerJobId}) after epoch {Epoch}", job.Id, job.WorkerJobId, afterEpoch);
        return client.WatchJob(new WatchJobRequest { JobId = job.WorkerJobId, AfterEpoch = afterEpoch }, cancellationToken: cancellationToken);
    }

    private static async Task<bool> WorkerKnowsAsync(WorkerService.WorkerServiceClient client, string workerJobId, CancellationToken cancellationToken)
    {
        try
        {
            await client.GetJobStatusAsync(new GetJobStatusRequest { JobId = workerJobId }, deadline: DateTime.UtcNow.AddSeconds(10),
                cancellationToken: cancellationToken);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Sends the images of the job the worker does not have yet (content hashes make this a set difference).</summary>
    private async Task SendImagesAsync(WorkerService.WorkerServiceClient client, TrainingJob job, JobSpec spec, CancellationToken cancellationToken)
    {
        var request = new FindMissingImagesRequest();
        request.Sha256.AddRange(spec.Items.Select(i => i.Sha256));
        var missing = (await client.FindMissingImagesAsync(request, deadline: DateTime.UtcNow.AddMinutes(1), cancellationToken: cancellationToken)).MissingSha256;
        if (missing.Count == 0)
        {
            await LogAsync(job.Id, "info", $"The worker already has all {spec.Items.Count} images.", cancellationToken);
            return;
        }
        await LogAsync(job.Id, "info", $"Sending {missing.Count} of {spec.Items.Count} images to the worker.", cancellationToken);
        var rejected = new List<ImageRejection>();
        foreach (var batch in missing.Chunk(options.Value.UploadBatchImages))
        {
            using var upload = client.UploadImages(cancellationToken: cancellationToken);
            foreach (var sha in batch)
            {
                if (!images.Contains(sha))
                    throw new JobRejectedException($"Image {sha} is missing from the web's storage; the dataset must be re-imported.");
                var data = await images.ReadImageAsync(sha, cancellationToken);
                await upload.RequestStream.WriteAsync(new UploadImagesRequest { Sha256 = sha, Name = sha, Data = ByteString.CopyFrom(data) }, cancellationToken);
            }
            await upload.RequestStream.CompleteAsync();
            var response = await upload;
            rejected.AddRange(response.Rejected);
        }
        if (rejected.Count > 0)
            throw new JobRejectedException($"The worker rejected {rejected.Count} image(s): " +
                string.Join("; ", rejected.Take(5).Select(r => $"{r.Sha256[..12]}: {r.Reason}")));
    }

    private enum Applied { Continue, Trained, Ended }

    /// <summary>Persists one worker event and tells the pages: whether the run goes on, has trained (its model is to be
    /// copied next) or has ended.</summary>
    private async Task<Applied> ApplyAsync(int jobId, JobEvent jobEvent, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return Applied.Ended;
        if (job.Status == JobStatus.Finishing) return Applied.Trained;
        if (jobEvent.Sequence != 0 && jobEvent.Sequence <= job.LastEventSequence) return Applied.Continue; // replayed on re-attach
        job.LastEventSequence = jobEvent.Sequence;
        var now = clock.GetUtcNow().UtcDateTime;
        var applied = Applied.Continue;
        switch (jobEvent.EventCase)
        {
            case JobEvent.EventOneofCase.Started:
                var started = jobEvent.Started;
                job.Status = JobStatus.Running;
                job.Device = started.Device;
                job.TrainImages = started.TrainImages;
                job.ValImages = started.ValImages;
                job.TestImages = started.TestImages;
                job.TrainableParameters = started.TrainableParameters;
                job.TotalParameters = started.TotalParameters;
                job.EpochsTotal = started.Epochs;
                db.JobLogLines.Add(Line(job, now, "info", $"Started on {job.WorkerName} ({started.Device}): {started.TrainImages} train, " +
                    $"{started.ValImages} val, {started.TestImages} test images; {started.TrainableParameters:N0} of {started.TotalParameters:N0} parameters train."));
                break;
            case JobEvent.EventOneofCase.Epoch:
                var epoch = jobEvent.Epoch;
                job.Status = JobStatus.Running;
                job.EpochsDone = Math.Max(job.EpochsDone, epoch.Epoch);
                if (!await db.JobEpochs.AnyAsync(e => e.JobId == jobId && e.Attempt == job.Attempt && e.Epoch == epoch.Epoch, cancellationToken))
                    db.JobEpochs.Add(new JobEpoch
                    {
                        JobId = jobId, Attempt = job.Attempt, Epoch = epoch.Epoch, At = now,
                        // SQLite stores no NaN or infinity: a value that is not finite (the run diverged) is stored as null.
                        TrainLoss = Finite(epoch.TrainLoss), TrainAccuracy = Finite(epoch.TrainAccuracy),
                        ValLoss = job.ValImages > 0 ? Finite(epoch.ValLoss) : null, ValAccuracy = job.ValImages > 0 ? Finite(epoch.ValAccuracy) : null,
                        LearningRate = Finite(epoch.LearningRate) ?? 0, Seconds = epoch.Seconds, ImagesPerSecond = epoch.ImagesPerSecond,
                        IsBest = epoch.IsBest,
                    });
                break;
            case JobEvent.EventOneofCase.Log:
                db.JobLogLines.Add(new JobLogLine { JobId = jobId, Attempt = job.Attempt, At = now, Level = Clip(jobEvent.Log.Level, 20),
                    Message = Clip(jobEvent.Log.Message, JobLogLine.MessageMaxLength) });
                break;
            case JobEvent.EventOneofCase.Completed:
                var completed = jobEvent.Completed;
                var evaluation = Evaluation.FromWorker(completed, ClassNames(job));
                job.EvaluatedSplit = evaluation.Split;
                job.Accuracy = Finite(completed.Accuracy);
                job.Loss = Finite(completed.Loss);
                job.MacroF1 = Finite(evaluation.Macro.F1);
                job.BestEpoch = completed.BestEpoch;
                job.StoppedEarly = completed.StoppedEarly;
                job.TrainingSeconds = completed.TrainingSeconds;
                job.EvaluationJson = evaluation.ToJson();
                job.ModelId = completed.ModelId;
                // Not "completed" yet: that needs the model in the web's storage (CopyModelAsync).
                job.Status = JobStatus.Finishing;
                db.JobLogLines.Add(Line(job, now, "info", $"Trained: {evaluation.Split} accuracy {completed.Accuracy:P1}, best epoch {completed.BestEpoch}" +
                    $"{(completed.StoppedEarly ? " (stopped early)" : "")}, {completed.TrainingSeconds:0.#} s of training. Copying the model."));
                applied = Applied.Trained;
                break;
            case JobEvent.EventOneofCase.Failed:
                var failed = jobEvent.Failed;
                job.Status = failed.Code switch
                {
                    FailureCode.Cancelled => JobStatus.Cancelled,
                    FailureCode.Diverged => JobStatus.Diverged,
                    _ => JobStatus.Failed,
                };
                job.Message = Clip(failed.Code switch
                {
                    FailureCode.Cancelled => "Cancelled.",
                    FailureCode.Diverged => $"Diverged: {failed.Message}",
                    FailureCode.OutOfMemory => $"The worker ran out of memory: {failed.Message} Try a smaller batch or image size.",
                    _ => $"The worker reported an error: {failed.Message}",
                }, TrainingJob.MessageMaxLength);
                job.FinishedAt = now;
                db.JobLogLines.Add(Line(job, now, failed.Code == FailureCode.Cancelled ? "info" : "error", job.Message));
                applied = Applied.Ended;
                break;
        }
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
        return applied;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>
    /// Copies a trained run's model from its worker into the web's <see cref="ModelStore"/> and only then marks the run
    /// completed. A copy cut short (the worker or its connection died) is retried with growing pauses
    /// (Jobs:ModelCopyAttempts, from Jobs:ReattachDelaySeconds doubling); after a web restart the scheduler finds the
    /// run "finishing" and copies again. A worker that no longer has the model, or never answers, leaves the run failed
    /// or worker-lost with a message saying to re-queue it — never completed without a model.
    /// </summary>
    private async Task CopyModelAsync(int jobId, WorkerNode worker, WorkerService.WorkerServiceClient client, CancellationToken cancellationToken)
    {
        string modelId;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            modelId = (await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken)).ModelId ?? "";
        if (modelId.Length == 0)
        {
            await FinishAsync(jobId, JobStatus.Failed, "Trained, but the worker never named its model, so it could not be stored. " +
                "Re-queue the run to train it again.", cancellationToken);
            return;
        }
        var delay = TimeSpan.FromSeconds(options.Value.ReattachDelaySeconds);
        string? lastError = null;
        for (var attempt = 1; attempt <= options.Value.ModelCopyAttempts; attempt++)
        {
            try
            {
                var bytes = await DownloadModelAsync(client, jobId, modelId, cancellationToken);
                await CompleteAsync(jobId, bytes, attempt, cancellationToken);
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                await FinishAsync(jobId, JobStatus.Failed, $"Trained, but {worker.Name} no longer has its model ({e.Status.Detail}), so it " +
                    "could not be stored. Re-queue the run to train it again.", cancellationToken);
                return;
            }
            catch (Exception e) when (e is RpcException or IOException && !cancellationToken.IsCancellationRequested)
            {
                lastError = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                logger.LogWarning("Copying the model of run {JobId} from {Worker} failed (attempt {Attempt}): {Error}", jobId, worker.Name, attempt, lastError);
            }
            if (attempt < options.Value.ModelCopyAttempts)
            {
                await Task.Delay(delay, clock, cancellationToken);
                delay *= 2;
            }
        }
        await WorkerLostAsync(jobId, $"the trained model could not be copied from {worker.Name} ({options.Value.ModelCopyAttempts} tries; " +
            $"last: {lastError}).", cancellationToken);
    }

    private async Task CompleteAsync(int jobId, long modelBytes, int attempt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.Status != JobStatus.Finishing) return;
        var now = clock.GetUtcNow().UtcDateTime;
        job.ModelBytes = modelBytes;
        job.Status = JobStatus.Completed;
        job.FinishedAt = now;
        db.JobLogLines.Add(Line(job, now, "info", $"Completed: {job.EvaluatedSplit} accuracy {job.Accuracy:P1}; model stored " +
            $"({modelBytes / 1e6:0.#} MB{(attempt > 1 ? $", copy attempt {attempt}" : "")})."));
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    private async Task<long> DownloadModelAsync(WorkerService.WorkerServiceClient client, int jobId, string modelId, CancellationToken cancellationToken)
    {
        using var call = client.DownloadModel(new DownloadModelRequest { ModelId = modelId }, cancellationToken: cancellationToken);
        return await models.SaveAsync(jobId, async stream =>
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                await stream.WriteAsync(chunk.Data.Memory, cancellationToken);
        });
    }

    private async Task WorkerLostAsync(int jobId, string why, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return;
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
            job.FinishedAt = clock.GetUtcNow().UtcDateTime;
        }
        db.JobLogLines.Add(new JobLogLine { JobId = jobId, Attempt = job.Attempt, At = clock.GetUtcNow().UtcDateTime, Level = "error", Message = job.Message });
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    private async Task RequeueAsync(int jobId, string why, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return;
        job.Status = JobStatus.Queued;
        job.Message = Clip(why, TrainingJob.MessageMaxLength);
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    private async Task FinishAsync(int jobId, JobStatus status, string message, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        if (job.IsFinished) return;
        job.Status = status;
        job.Message = Clip(message, TrainingJob.MessageMaxLength);
        job.FinishedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    private async Task LogAsync(int jobId, string level, string message, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.FirstAsync(j => j.Id == jobId, cancellationToken);
        db.JobLogLines.Add(new JobLogLine { JobId = jobId, Attempt = job.Attempt, At = clock.GetUtcNow().UtcDateTime, Level = level, Message = message });
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
    }

    private static JobLogLine Line(TrainingJob job, DateTime at, string level, string message) =>
        new() { JobId = job.Id, Attempt = job.Attempt, At = at, Level = level, Message = Clip(message, JobLogLine.MessageMaxLength) };

    private WorkerService.WorkerServiceClient ClientFor(WorkerNode worker)
    {
        using var scope = scopes.CreateScope();
        return clients.Client(worker.Address, scope.ServiceProvider.GetRequiredService<WorkerRegistryService>().TokenOf(worker));
    }

    internal static IReadOnlyList<string> ClassNames(TrainingJob job) =>
        System.Text.Json.JsonSerializer.Deserialize<string[]>(job.ClassNamesJson) ?? [];

    private static string Clip(string value, int max) => value.Length <= max ? value : value[..(max - 1)] + "…";

    private sealed class JobRejectedException(string message) : Exception(message);
}
