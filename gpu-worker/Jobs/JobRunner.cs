using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.V1;
using TransferHub.Imaging;

namespace TransferHub.Worker.Jobs;

/// <summary>Thrown when every job slot of this worker is taken.</summary>
public sealed class WorkerBusyException(int capacity) : Exception($"This worker is running its maximum of {capacity} job(s); try again when one finishes.");

/// <summary>Owns running jobs: one dedicated thread per job, events into the job's log, the model into the store.</summary>
public sealed class JobRunner(
    IJobTrainer trainer,
    ModelStore models,
    IOptions<WorkerOptions> options,
    ILogger<JobRunner> logger)
{
    private const int FinishedJobsKept = 200;
    private readonly ConcurrentDictionary<string, JobRun> _jobs = new();
    private readonly object _startLock = new();

    public int Capacity => options.Value.MaxConcurrentJobs;

    public IReadOnlyList<string> RunningJobIds => _jobs.Values.Where(j => !j.IsFinished).Select(j => j.JobId).ToList();

    public JobRun? Find(string jobId) => _jobs.GetValueOrDefault(jobId);

    /// <summary>Starts the job on its own thread, or returns the run already known under that id.</summary>
    /// <param name="parent">the caller's trace context: the job's <c>transferhub.job</c> span continues that trace</param>
    /// <exception cref="WorkerBusyException">all slots are taken</exception>
    public JobRun Start(TrainingSpec spec, ActivityContext parent = default)
    {
        lock (_startLock)
        {
            if (_jobs.TryGetValue(spec.JobId, out var existing) && !existing.IsFinished) return existing;
            if (RunningJobIds.Count >= Capacity) throw new WorkerBusyException(Capacity);
            var run = new JobRun(spec);
            _jobs[spec.JobId] = run;
            var thread = new Thread(() => Execute(run, parent)) { IsBackground = true, Name = $"job {spec.JobId}" };
            thread.Start();
            Prune();
            return run;
        }
    }

    public bool Cancel(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var run) || run.IsFinished) return false;
        run.Cancellation.Cancel();
        return true;
    }

    private void Execute(JobRun run, ActivityContext parent)
    {
        var spec = run.Spec;
        Activity.Current = null; // the thread inherits the StartJob call's activity; the job span is its own
        using var span = Telemetry.Source.StartActivity("transferhub.job", ActivityKind.Internal, parent);
        span?.SetTag("transferhub.job.id", spec.JobId);
        span?.SetTag("transferhub.job.backbone", spec.Backbone);
        span?.SetTag("transferhub.job.mode", spec.Mode.ToString());
        span?.SetTag("transferhub.job.epochs", spec.Epochs);
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["JobId"] = spec.JobId, ["Worker"] = options.Value.Name });
        var outcome = Outcome(run, span);
        Telemetry.Jobs.Add(1, new KeyValuePair<string, object?>("transferhub.job.outcome", outcome));
        span?.SetTag("transferhub.job.outcome", outcome);
        if (outcome is not ("completed" or "cancelled")) span?.SetStatus(ActivityStatusCode.Error, outcome);
        MemoryRelease.AfterJob();
    }

    /// <summary>Trains, saves the model and appends the final event; returns the outcome's name for telemetry.</summary>
    private string Outcome(JobRun run, Activity? span)
    {
        var spec = run.Spec;
        var observer = new RunObserver(run, span);
        if (spec.Mode == TrainingMode.Auto)
            logger.LogInformation("Job {JobId} started: {Backbone} {Mode}, time budget {Budget} s, {Images} images", spec.JobId, spec.Backbone, spec.Mode, spec.TimeBudgetSeconds, spec.Items.Count);
        else
            logger.LogInformation("Job {JobId} started: {Backbone} {Mode}, {Epochs} epochs, {Images} images", spec.JobId, spec.Backbone, spec.Mode, spec.Epochs, spec.Items.Count);
        try
        {
            var outcome = trainer.Run(spec, observer, run.Cancellation.Token);
            observer.Saving = true;
            using var model = outcome.Model;
            var modelId = Guid.NewGuid().ToString("N");
            var report = outcome.Report;
            models.Save(modelId, stream => ModelArtifact.Save(stream, model, new ModelMetadata
            {
                ModelId = modelId,
                JobId = spec.JobId,
                Backbone = outcome.Backbone.Name,
                BackboneDisplayName = outcome.Backbone.DisplayName,
                BackboneWeightsSha256 = outcome.WeightsSha256,
                BackboneFrozen = spec.Mode != TrainingMode.FineTune && !outcome.BackboneTuned,
                ClassNames = spec.ClassNames,
                ImageSize = spec.ImageSize,
                Resize = spec.Resize,
                Normalization = outcome.Backbone.Normalization,
                HiddenUnits = outcome.Autopilot is null ? spec.HiddenUnits : 0,
                Dropout = outcome.Autopilot is null ? spec.Dropout : 0,
                FeaturePreprocessing = outcome.Autopilot?.Final.Preprocessing,
                TestTimeAugmentation = outcome.Autopilot is null ? null : ModelArtifact.HorizontalFlipTta,
                Autopilot = outcome.Autopilot?.Choice,
                PooledStages = model.PooledStages,
                Temperature = model.Temperature,
                TemperatureFittedOn = outcome.Calibration.FittedOn,
                Mode = spec.Mode.ToString(),
                BestEpoch = outcome.BestEpoch,
                Accuracy = report.Accuracy,
                EvaluatedSplit = outcome.EvaluatedSplit.ToString(),
                DatasetVersion = spec.DatasetVersion,
                CreatedAt = DateTimeOffset.UtcNow,
            }));
            run.Append(new JobEvent { Completed = ProtoMapping.ToCompleted(outcome, modelId) });
            logger.LogInformation("Job {JobId} completed: accuracy {Accuracy:P1} on {Split}, model {ModelId}", spec.JobId, report.Accuracy, outcome.EvaluatedSplit, modelId);
            return "completed";
        }
        catch (TrainingDivergedException e)
        {
            // A result, not a crash: every epoch up to the divergence was streamed; no evaluation, no model.
            run.Append(Failed(FailureCode.Diverged, e.Message));
            logger.LogWarning("Job {JobId}: {Message}", spec.JobId, e.Message); // the message names the epoch
            return "diverged";
        }
        catch (OperationCanceledException)
        {
            run.Append(Failed(FailureCode.Cancelled, "The job was cancelled."));
            logger.LogInformation("Job {JobId} cancelled", spec.JobId);
            return "cancelled";
        }
        catch (Exception e) when (e is UnknownBackboneException or WeightFileException or ImageDecodeException or FileNotFoundException)
        {
            // Our own messages, written for users; a safety net still keeps paths and traces out of them.
            var id = WorkerErrors.NewId();
            var message = WorkerErrors.IsUserSafe(e.Message) ? e.Message : $"The job's input was rejected (error id {id}); the worker's log has the details.";
            run.Append(Failed(FailureCode.InvalidInput, message));
            logger.LogWarning(e, "Job {JobId} rejected (error id {ErrorId}): {Message}", spec.JobId, id, e.Message);
            return "rejected";
        }
        catch (Exception e) when (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || e is OutOfMemoryException)
        {
            var id = WorkerErrors.NewId();
            run.Append(Failed(FailureCode.OutOfMemory, WorkerErrors.OutOfMemory(observer.Where, id)));
            logger.LogWarning(e, "Job {JobId} ran out of memory {Where} (error id {ErrorId})", spec.JobId, observer.Where, id);
            return "out_of_memory";
        }
        catch (Exception e)
        {
            // Users get what failed, where and what to try, plus an id; the full (often native) text stays in this log.
            var id = WorkerErrors.NewId();
            run.Append(Failed(FailureCode.Internal, WorkerErrors.TrainingFailed(e, observer.Where, id)));
            logger.LogError(e, "Job {JobId} failed {Where} (error id {ErrorId})", spec.JobId, observer.Where, id);
            span?.AddException(e);
            return "failed";
        }
    }

    private static JobEvent Failed(FailureCode code, string message) => new() { Failed = new JobFailed { Code = code, Message = message } };

    private void Prune()
    {
        var finished = _jobs.Values.Where(j => j.IsFinished).OrderByDescending(j => j.FinishedAt).Skip(FinishedJobsKept).ToList();
        foreach (var job in finished) _jobs.TryRemove(job.JobId, out _);
    }

    private sealed class RunObserver(JobRun run, Activity? span) : ITrainingObserver
    {
        private bool _started;
        private int _epochs;
        private int _lastEpoch;

        /// <summary>Set once training returned: what fails now fails while saving the model.</summary>
        public bool Saving { get; set; }

        /// <summary>Where the job is, for failure messages: "while preparing the job", "in epoch 8", …</summary>
        public string Where => Saving ? $"after epoch {_lastEpoch}, while saving the model"
            : !_started ? "while preparing the job"
            : _lastEpoch >= _epochs ? $"after epoch {_lastEpoch}, while evaluating the model"
            : $"in epoch {_lastEpoch + 1}";

        public void Started(TrainingStarted started)
        {
            _started = true;
            _epochs = started.Epochs;
            run.Append(new JobEvent { Started = ProtoMapping.ToProto(started) });
        }

        public void Epoch(EpochResult epoch)
        {
            _lastEpoch = epoch.Epoch;
            if (span is not null)
            {
                // The epoch is over when the trainer reports it: its span is back-dated by the epoch's own duration.
                using var epochSpan = Telemetry.Source.StartActivity("transferhub.job.epoch", ActivityKind.Internal, span.Context,
                    startTime: DateTimeOffset.UtcNow - TimeSpan.FromSeconds(Math.Max(0, epoch.Seconds)));
                epochSpan?.SetTag("transferhub.job.epoch", epoch.Epoch);
                epochSpan?.SetTag("transferhub.job.epoch.images_per_second", epoch.ImagesPerSecond);
                epochSpan?.SetTag("transferhub.job.epoch.train_loss", epoch.TrainLoss);
            }
            run.Append(new JobEvent { Epoch = ProtoMapping.ToProto(epoch) });
        }

        public void Log(string level, string message) => run.Append(new JobEvent { Log = new LogLine { Level = level, Message = message } });
        public void Candidate(Engine.Autopilot.CandidateScore score) => run.Append(new JobEvent { Candidate = ProtoMapping.ToProto(score) });
        public void Features(FeaturesReady ready) => run.Append(new JobEvent
        {
            Features = new FeaturesExtracted { Images = ready.Images, CachedImages = ready.Cached, ComputedImages = ready.Computed, Seconds = ready.Seconds },
        });
    }
}
