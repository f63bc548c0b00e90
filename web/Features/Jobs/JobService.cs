using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Jobs.Doctor;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;


namespace TransferHub.Web.Features.Jobs;

/// <summary>Runs of a dataset: launch, follow, cancel, re-queue, retrain (<c>userId</c> is always the signed-in caller;
/// every call is authorized through <see cref="TeamAccess"/>). <see cref="RunLauncher"/> checks and queues, the
/// <see cref="JobScheduler"/> does the running.</summary>
public sealed class JobService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    RunLauncher launcher,
    JobScheduler scheduler,
    JobNotifier notifier,
    TimeProvider clock)
{
    private const int LogLinesShown = 200;

    /// <inheritdoc cref="RunLauncher.LaunchContextAsync"/>
    public Task<LaunchContext> LaunchContextAsync(string userId, int datasetId, CancellationToken cancellationToken = default) =>
        launcher.LaunchContextAsync(userId, datasetId, cancellationToken);

    /// <inheritdoc cref="RunLauncher.AutoBudgetDefaultAsync"/>
    public Task<AutoBudgetDefault> AutoBudgetDefaultAsync(CancellationToken cancellationToken = default) =>
        launcher.AutoBudgetDefaultAsync(cancellationToken);

    /// <inheritdoc cref="RunLauncher.QueueAsync"/>
    public async Task<IReadOnlyList<int>> LaunchAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken = default) =>
        (await launcher.QueueAsync(userId, datasetId, settings, cancellationToken)).Ids;

    /// <inheritdoc cref="RunLauncher.QueueAsync"/>
    public Task<LaunchOutcome> QueueAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken = default) =>
        launcher.QueueAsync(userId, datasetId, settings, cancellationToken);

    /// <summary>Runs of a project (all its datasets), newest first.</summary>
    public async Task<IReadOnlyList<RunSummary>> ListAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Projects.AnyAsync(p => p.Id == projectId, cancellationToken))
            throw new NotFoundException("Project");
        var jobs = await new TeamAccess(db, userId).Jobs.Where(j => j.Dataset!.ProjectId == projectId)
            .OrderByDescending(j => j.Id).Select(SummaryRow).ToListAsync(cancellationToken);
        return await WithValidationAsync(db, jobs, cancellationToken);
    }

    /// <summary>One run as the Runs page lists it, or null when the caller cannot see it (or it is gone).</summary>
    public async Task<RunSummary?> SummaryAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await new TeamAccess(db, userId).Jobs.Where(j => j.Id == jobId).Select(SummaryRow).ToListAsync(cancellationToken);
        return (await WithValidationAsync(db, rows, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The run page's content, or null when the caller cannot see such a run.</summary>
    public async Task<RunDetails?> GetAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        // Everything but the stored spec and evaluation (large; the page reloads this on every epoch and log line).
        var job = await access.Jobs.Where(j => j.Id == jobId)
            .Select(j => new { Job = new TrainingJob
                {
                    Id = j.Id, DatasetId = j.DatasetId, Kind = j.Kind, Status = j.Status, Backbone = j.Backbone, Mode = j.Mode, Seed = j.Seed,
                    SeedGroup = j.SeedGroup, DatasetVersion = j.DatasetVersion, EpochsDone = j.EpochsDone, EpochsTotal = j.EpochsTotal,
                    Accuracy = j.Accuracy, MacroF1 = j.MacroF1, TrainingSeconds = j.TrainingSeconds, TotalParameters = j.TotalParameters,
                    TrainableParameters = j.TrainableParameters, WorkerName = j.WorkerName, Message = j.Message, CreatedAt = j.CreatedAt,
                    FinishedAt = j.FinishedAt, EnsembleOf = j.EnsembleOf, Attempt = j.Attempt, EvaluatedSplit = j.EvaluatedSplit,
                    SettingsJson = j.SettingsJson, ClassNamesJson = j.ClassNamesJson, Device = j.Device, TrainImages = j.TrainImages,
                    ValImages = j.ValImages, TestImages = j.TestImages, ModelBytes = j.ModelBytes, BestEpoch = j.BestEpoch, StoppedEarly = j.StoppedEarly,
                    TimeBudgetSeconds = j.TimeBudgetSeconds, LeaderboardJson = j.LeaderboardJson, DataFactsJson = j.DataFactsJson,
                    CalibrationJson = j.CalibrationJson, TargetPrecision = j.TargetPrecision,
                    ProjectId = j.ProjectId, Number = j.Number, Name = j.Name, Notes = j.Notes, TagsJson = j.TagsJson, Pinned = j.Pinned,
                    FeatureImagesCached = j.FeatureImagesCached, FeatureImagesComputed = j.FeatureImagesComputed,
                    FeatureExtractionSeconds = j.FeatureExtractionSeconds,
                },
                DatasetName = j.Dataset!.Name, j.Dataset.ProjectId, ProjectName = j.Dataset.Project!.Name,
                j.Dataset.Project.TeamId, TeamName = j.Dataset.Project.Team!.Name })
            .AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (job is null) return null;
        var role = await access.RoleInAsync(job.TeamId, cancellationToken);
        var epochs = await db.JobEpochs.Where(e => e.JobId == jobId && e.Attempt == job.Job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate))
            .ToListAsync(cancellationToken);
        var log = await db.JobLogLines.Where(l => l.JobId == jobId).OrderByDescending(l => l.Id).Take(LogLinesShown)
            .Select(l => new LogEntry(l.At, l.Level, l.Message)).ToListAsync(cancellationToken);
        log.Reverse();
        var siblings = await RunDoctor.SiblingsAsync(db, [job.Job], cancellationToken);
        var summary = Summarize(job.Job, job.DatasetName, epochs) with { Findings = RunDoctor.Diagnose(job.Job, epochs, siblings) };
        var settings = job.Job.Kind == JobKind.Ensemble ? [new("Members", job.Job.EnsembleOf ?? "")]
            : Settings(job.Job).Describe(job.Job.Seed);
        return new RunDetails(summary, job.ProjectId, job.ProjectName, job.TeamName, role?.Allows(TeamPermission.EditContent) == true,
            settings, job.Job.Attempt, job.Job.Device, job.Job.TrainImages, job.Job.ValImages, job.Job.TestImages, epochs, log,
            job.Job.ModelBytes is > 0, ClassNames(job.Job), job.Job.BestEpoch, job.Job.StoppedEarly)
        {
            TimeBudgetSeconds = job.Job.TimeBudgetSeconds,
            Selection = ModelSelection.FromJson(job.Job.LeaderboardJson),
            Calibration = CalibrationView.Of(job.Job.CalibrationJson, job.Job.TargetPrecision),
            MemberNumbers = await MemberNumbersAsync(db, job.Job, cancellationToken),
            Members = await MembersAsync(access, job.Job, cancellationToken),
        };
    }

    /// <summary>Renames, annotates, tags, stars or unstars a run (<see cref="RunLabels"/> has the rules); what
    /// <paramref name="change"/> leaves null stays as it is. Editors of the run's team may; viewers may not.</summary>
    /// <returns>The run as the Runs table lists it afterwards.</returns>
    /// <exception cref="InvalidInputException">A value breaks a rule (length, control characters, tags).</exception>
    /// <exception cref="RuleViolationException">Another run of the project already has the name.</exception>
    /// <exception cref="ForbiddenException">The caller only views the team.</exception>
    /// <exception cref="NotFoundException">No such run, or one the caller cannot see.</exception>
    public async Task<RunSummary> UpdateLabelsAsync(string userId, int jobId, RunLabelsChange change, CancellationToken cancellationToken = default)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var job = await new TeamAccess(db, userId).RequireJobAsync(jobId, TeamPermission.EditContent, cancellationToken);
            var normalized = RunLabels.Normalize(change);
            if (normalized.Name is { } name)
            {
                var newName = name.Length == 0 ? null : name;
                if (newName is not null) await RequireNameFreeAsync(db, job.ProjectId, job.Id, newName, cancellationToken);
                job.Name = newName;
            }
            if (normalized.Notes is { } notes) job.Notes = notes.Length == 0 ? null : notes;
            if (normalized.Tags is { } tags) job.TagsJson = RunLabels.TagsJson(tags);
            if (normalized.Pinned is { } pinned) job.Pinned = pinned;
            await db.SaveChangesAsync(cancellationToken);
            notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
        }
        return await SummaryAsync(userId, jobId, cancellationToken) ?? throw new NotFoundException("Run");
    }

    /// <summary>Why a queued run waits: its place in the queue (the scheduler starts queued runs oldest first), and each
    /// worker that offers its backbone with what keeps it from taking the run (offline, disabled, draining, or busy with
    /// which runs — a run the caller cannot see is only said to belong to another team). Null when the run is not queued
    /// or the caller cannot see it.</summary>
    public async Task<RunWait?> WaitAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var job = await access.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued)
            .Select(j => new { j.Id, j.Backbone, j.ProjectId }).FirstOrDefaultAsync(cancellationToken);
        if (job is null) return null;
        var queued = await db.Jobs.Where(j => j.Status == JobStatus.Queued).OrderBy(j => j.Id).Select(j => j.Id).ToListAsync(cancellationToken);
        var position = queued.IndexOf(job.Id) + 1;
        var workers = await db.Workers.AsNoTracking().OrderBy(w => w.Name).ToListAsync(cancellationToken);
        var offering = workers.Where(w => w.Backbones.Split(',').Contains(job.Backbone)).ToList();
        var ids = offering.Select(w => (int?)w.Id).ToList();
        var busy = await db.Jobs.Where(j => ids.Contains(j.WorkerId) &&
                (j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing))
            .OrderBy(j => j.Id).Select(j => new { j.Id, j.WorkerId, j.Number, j.ProjectId, Project = j.Dataset!.Project!.Name }).ToListAsync(cancellationToken);
        var busyIds = busy.Select(b => b.Id).ToList();
        var visible = (await access.Jobs.Where(j => busyIds.Contains(j.Id)).Select(j => j.Id).ToListAsync(cancellationToken)).ToHashSet();
        var states = offering.Select(w =>
        {
            List<BusyRun> runs = [.. busy.Where(b => b.WorkerId == w.Id).Select(b => !visible.Contains(b.Id) ? new BusyRun(null, "a run of another team")
                : new BusyRun(b.Id, b.ProjectId == job.ProjectId ? $"Run #{b.Number}" : $"Run #{b.Number} of {b.Project}"))];
            var capacity = Math.Max(1, w.Capacity);
            var state = !w.Enabled ? "disabled" : w.Draining ? "draining (takes no new runs)" : w.Status != WorkerStatus.Online ? "offline"
                : runs.Count >= capacity ? $"busy ({runs.Count} of {capacity} slot{(capacity == 1 ? "" : "s")})" : "free";
            return new WorkerWait(w.Name, state, runs, state == "free");
        }).ToList();
        var reason = offering.Count == 0 ? $"No worker offers {job.Backbone}: it starts when one does."
            : states.All(w => w.State is "disabled" or "offline" or "draining (takes no new runs)")
            ? $"No worker offering {job.Backbone} takes new runs now (offline, disabled or draining): it starts when one does."
            : position > 1 && states.Any(w => w.Free)
                ? $"{position - 1} run{(position == 2 ? " is" : "s are")} ahead of it in the queue."
                : states.Any(w => w.Free) ? "A worker is free: it starts at the scheduler's next pass (within seconds)."
                : $"Every worker offering {job.Backbone} is busy" + (position > 1 ? $", and {position - 1} run{(position == 2 ? " is" : "s are")} ahead of it." : "; it starts when one finishes.");
        return new RunWait(position, queued.Count, reason, states);
    }

    /// <summary>Refuses <paramref name="name"/> when another run of the project (not <paramref name="exceptJobId"/>) has it,
    /// ignoring case: a run's name is unique in its project (<see cref="RunLabels"/>).</summary>
    /// <exception cref="RuleViolationException">the name is taken, naming the run that has it</exception>
    internal static async Task RequireNameFreeAsync(TransferHubDbContext db, int projectId, int? exceptJobId, string name, CancellationToken cancellationToken)
    {
        var lower = name.ToLower();
        var taken = await db.Jobs.Where(j => j.ProjectId == projectId && j.Id != exceptJobId && j.Name != null && j.Name.ToLower() == lower)
            .Select(j => new { j.Number, j.Kind }).FirstOrDefaultAsync(cancellationToken);
        if (taken is not null)
            throw new RuleViolationException($"{(taken.Kind == JobKind.Ensemble ? "Ensemble" : "Run")} #{taken.Number} of this project is already called \"{name}\": choose another name.");
    }

    /// <summary>An ensemble's members in its order, as the caller may see them, with their own scores; a member deleted
    /// since is listed as deleted (empty for other runs).</summary>
    internal static async Task<IReadOnlyList<EnsembleMember>> MembersAsync(TeamAccess access, TrainingJob job, CancellationToken cancellationToken)
    {
        if (job.Kind != JobKind.Ensemble || job.EnsembleOf is null) return [];
        List<int> ids = [.. job.EnsembleOf.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
        var found = await access.Jobs.Where(j => ids.Contains(j.Id) && j.ProjectId == job.ProjectId).AsNoTracking().ToDictionaryAsync(j => j.Id, cancellationToken);
        return [.. ids.Select(id => found.TryGetValue(id, out var member) ? EnsembleMember.Of(member) : EnsembleMember.Deleted(id))];
    }

    /// <summary>An ensemble's member run ids → their numbers in the project (empty for other runs).</summary>
    internal static async Task<IReadOnlyDictionary<int, int>> MemberNumbersAsync(TransferHubDbContext db, TrainingJob job, CancellationToken cancellationToken)
    {
        if (job.EnsembleOf is null) return new Dictionary<int, int>();
        List<int> ids = [.. job.EnsembleOf.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
        return await db.Jobs.Where(j => ids.Contains(j.Id) && j.ProjectId == job.ProjectId).ToDictionaryAsync(j => j.Id, j => j.Number, cancellationToken);
    }

    /// <summary>Stops a queued or running run. Queued runs end at once; running ones when the worker confirms.</summary>
    public async Task CancelAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).RequireJobAsync(jobId, TeamPermission.EditContent, cancellationToken);
        if (job.IsFinished) throw new RuleViolationException($"Run #{job.Number} has already ended ({Describe(job.Status)}).");
        job.CancelRequested = true;
        var queued = job.Status == JobStatus.Queued;
        if (queued)
        {
            job.Status = JobStatus.Cancelled;
            job.Message = "Cancelled before it started.";
            job.FinishedAt = clock.GetUtcNow().UtcDateTime;
        }
        await db.SaveChangesAsync(cancellationToken);
        if (queued)
        {
            notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
            TransferHub.Web.Features.Telemetry.Telemetry.RunEnded(JobStatus.Cancelled, null);
        }
        else await scheduler.CancelRunningAsync(jobId, cancellationToken);
    }

    /// <summary>Puts a run that failed, was cancelled or lost its worker back in the queue, with the data and settings it
    /// was launched with. The next attempt starts from epoch 1; earlier attempts' metrics stay stored.</summary>
    public async Task RequeueAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).RequireJobAsync(jobId, TeamPermission.EditContent, cancellationToken);
        if (job.Kind == JobKind.Ensemble) throw new RuleViolationException("An ensemble is computed, not trained: there is nothing to re-queue.");
        if (job.Status is not (JobStatus.Failed or JobStatus.Cancelled or JobStatus.WorkerLost))
            throw new RuleViolationException($"Only failed, cancelled or lost runs can be re-queued; run #{job.Number} is {Describe(job.Status)}.");
        job.Status = JobStatus.Queued;
        job.CancelRequested = false;
        job.Message = null;
        job.FinishedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
        TransferHub.Web.Features.Telemetry.Telemetry.RunsQueued.Add(1);
        scheduler.Wake();
    }

    /// <summary>"Retrain with the same settings": a new run on the dataset as it is now (after relabelling).</summary>
    public async Task<int> RetrainAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        JobSettings settings;
        int datasetId;
        long seed;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var job = await new TeamAccess(db, userId).RequireJobAsync(jobId, TeamPermission.EditContent, cancellationToken);
            if (job.Kind == JobKind.Ensemble) throw new RuleViolationException("Retrain the ensemble's members instead.");
            (settings, datasetId, seed) = (Settings(job), job.DatasetId, job.Seed);
        }
        settings.Seed = seed;
        settings.Repeats = 1;
        return (await LaunchAsync(userId, datasetId, settings, cancellationToken))[0];
    }

    /// <summary>The settings a run was launched with, for "launch another like this".</summary>
    public async Task<JobSettings> SettingsAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken)
            ?? throw new NotFoundException("Run");
        var settings = Settings(job);
        settings.Seed = job.Seed;
        return settings;
    }

    /// <summary>The run's classes in model-output order.</summary>
    internal static IReadOnlyList<string> ClassNames(TrainingJob job) => JsonSerializer.Deserialize<string[]>(job.ClassNamesJson) ?? [];

    /// <summary>SHA-256 → original file name of the run's images as recorded at launch (empty when none were).</summary>
    internal static IReadOnlyDictionary<string, string> ImageNames(TrainingJob job) =>
        job.ImageNamesJson is { } json ? JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [] : new Dictionary<string, string>();

    internal static JobSettings Settings(TrainingJob job) => JsonSerializer.Deserialize<JobSettings>(job.SettingsJson) ?? new JobSettings();

    /// <summary>Why a run has nothing to report: "no evaluation yet" while it may still get one, "ended without an
    /// evaluation" once it cannot (failed, diverged, cancelled).</summary>
    internal static string NoEvaluation(TrainingJob job) => job.IsFinished
        ? $"Run #{job.Number} ended without an evaluation ({Describe(job.Status)})"
        : $"Run #{job.Number} has no evaluation yet ({Describe(job.Status)})";

    internal static string Describe(JobStatus status) => status switch
    {
        JobStatus.WorkerLost => "worker lost",
        JobStatus.Finishing => "saving model",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static readonly System.Linq.Expressions.Expression<Func<TrainingJob, SummaryData>> SummaryRow = j => new SummaryData
    {
        Job = new TrainingJob
        {
            Id = j.Id, DatasetId = j.DatasetId, Kind = j.Kind, Status = j.Status, Backbone = j.Backbone, Mode = j.Mode, Seed = j.Seed,
            SeedGroup = j.SeedGroup, DatasetVersion = j.DatasetVersion, EpochsDone = j.EpochsDone, EpochsTotal = j.EpochsTotal,
            Accuracy = j.Accuracy, MacroF1 = j.MacroF1, TrainingSeconds = j.TrainingSeconds, TotalParameters = j.TotalParameters,
            TrainableParameters = j.TrainableParameters, WorkerName = j.WorkerName, Message = j.Message, CreatedAt = j.CreatedAt,
            FinishedAt = j.FinishedAt, EnsembleOf = j.EnsembleOf, Attempt = j.Attempt, EvaluatedSplit = j.EvaluatedSplit,
            // What the training doctor reads besides the epochs (a few kB per run at most).
            SettingsJson = j.SettingsJson, ClassNamesJson = j.ClassNamesJson, DataFactsJson = j.DataFactsJson, ValImages = j.ValImages,
            ProjectId = j.ProjectId, Number = j.Number, Name = j.Name, Notes = j.Notes, TagsJson = j.TagsJson, Pinned = j.Pinned,
            FeatureImagesCached = j.FeatureImagesCached, FeatureImagesComputed = j.FeatureImagesComputed,
            FeatureExtractionSeconds = j.FeatureExtractionSeconds,
        },
        DatasetName = j.Dataset!.Name,
    };

    private sealed class SummaryData
    {
        public required TrainingJob Job { get; init; }
        public required string DatasetName { get; init; }
    }

    private static async Task<IReadOnlyList<RunSummary>> WithValidationAsync(TransferHubDbContext db, List<SummaryData> rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(r => r.Job.Id).ToList();
        var epochs = await db.JobEpochs.Where(e => ids.Contains(e.JobId))
            .Select(e => new { e.JobId, e.Attempt, e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate })
            .ToListAsync(cancellationToken);
        var byJob = epochs.ToLookup(e => e.JobId);
        var siblings = await RunDoctor.SiblingsAsync(db, rows.Select(r => r.Job), cancellationToken);
        var queue = rows.Any(r => r.Job.Status == JobStatus.Queued)
            ? await db.Jobs.Where(j => j.Status == JobStatus.Queued).OrderBy(j => j.Id).Select(j => j.Id).ToListAsync(cancellationToken)
            : [];
        return [.. rows.Select(r =>
        {
            var place = queue.IndexOf(r.Job.Id);
            List<EpochPoint> points = [.. byJob[r.Job.Id].Where(e => e.Attempt == r.Job.Attempt).OrderBy(e => e.Epoch)
                .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate))];
            return Summarize(r.Job, r.DatasetName, points) with
            {
                Findings = RunDoctor.Diagnose(r.Job, points, siblings),
                QueuePosition = place < 0 ? null : place + 1,
            };
        })];
    }

    internal static RunSummary Summarize(TrainingJob j, string datasetName, IReadOnlyList<EpochPoint> epochs) => new(
        j.Id, j.DatasetId, datasetName, j.Kind, j.Status, j.Backbone, j.Mode, j.Seed, j.SeedGroup, j.DatasetVersion, j.EpochsDone, j.EpochsTotal,
        j.Accuracy, j.MacroF1, epochs.Max(e => e.ValAccuracy), epochs.Count == 0 ? null : epochs[^1].ValAccuracy, j.TrainingSeconds,
        j.TotalParameters, j.TrainableParameters, j.WorkerName, j.Message, j.CreatedAt, j.FinishedAt, j.EnsembleOf, j.EvaluatedSplit)
    {
        Number = j.Number, ProjectId = j.ProjectId, Name = j.Name, Notes = j.Notes, Tags = RunLabels.Tags(j.TagsJson), Pinned = j.Pinned,
        FeatureImagesCached = j.FeatureImagesCached, FeatureImagesComputed = j.FeatureImagesComputed, FeatureExtractionSeconds = j.FeatureExtractionSeconds,
    };
}
