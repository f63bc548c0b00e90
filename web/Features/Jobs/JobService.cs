using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Worker.V1;

using JobStatus = TransferHub.Web.Data.JobStatus;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A backbone some online worker offers, as the launch form shows it.</summary>
public sealed record BackboneChoice(string Name, string DisplayName, int InputSize, int Stages, long Parameters, bool Pretrained);

/// <summary>What the launch form needs: the dataset's trainable content and what the workers offer.</summary>
public sealed record LaunchContext(int DatasetId, string DatasetName, int ProjectId, string ProjectName, bool CanEdit,
    IReadOnlyList<string> ClassNames, int Train, int Val, int Test, int Unusable, bool TestFrozen,
    IReadOnlyList<BackboneChoice> Backbones, string? WorkerProblem, IReadOnlyList<string> DatasetProblems, IReadOnlyList<string> DatasetWarnings);

/// <summary>What a launch queued, and what the runs' numbers will mean (<see cref="TrainingDataRules"/> warnings).</summary>
public sealed record LaunchOutcome(IReadOnlyList<int> Ids, IReadOnlyList<string> Warnings);

/// <summary>A run in lists and comparisons.</summary>
public sealed record RunSummary(int Id, int DatasetId, string DatasetName, JobKind Kind, JobStatus Status, string Backbone, TrainingMode Mode,
    long Seed, string? SeedGroup, string DatasetVersion, int EpochsDone, int EpochsTotal, double? Accuracy, double? MacroF1,
    double? BestValAccuracy, double? LastValAccuracy, double? TrainingSeconds, long TotalParameters, long TrainableParameters,
    string? WorkerName, string? Message, DateTime CreatedAt, DateTime? FinishedAt, string? EnsembleOf, string? EvaluatedSplit)
{
    /// <summary>The run had no held-out images: its accuracy was measured on the images it trained on.</summary>
    public bool EvaluatedOnTraining => EvaluatedSplit == "train";

    /// <summary>Which images the accuracy was measured on, in words ("test images", "training images — optimistic").</summary>
    public string EvaluatedOn => EvaluatedSplit switch
    {
        "test" => "test images",
        "val" => "validation images (no test split)",
        "train" => "training images — optimistic (no held-out images)",
        _ => "",
    };

    public string Title => Kind == JobKind.Ensemble ? $"Ensemble #{Id}" : $"Run #{Id}";
    public string ModeText => Kind == JobKind.Ensemble ? "ensemble" : Mode == TrainingMode.FineTune ? "fine-tune" : "feature extraction";
    public bool IsActive => Status.IsActive();
}

public sealed record EpochPoint(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds,
    double ImagesPerSecond, bool IsBest);

public sealed record LogEntry(DateTime At, string Level, string Message);

/// <summary>Everything the run page shows.</summary>
public sealed record RunDetails(RunSummary Run, int ProjectId, string ProjectName, string TeamName, bool CanEdit,
    IReadOnlyList<KeyValuePair<string, string>> Settings, int Attempt, string? Device, int TrainImages, int ValImages, int TestImages,
    IReadOnlyList<EpochPoint> Epochs, IReadOnlyList<LogEntry> Log, bool HasModel, IReadOnlyList<string> ClassNames, int? BestEpoch, bool StoppedEarly)
{
    /// <summary>The x axis of the curves: the planned epochs while running, the epochs actually run once finished.</summary>
    public int ChartEpochs => Run.IsActive ? Run.EpochsTotal : Math.Max(1, Run.EpochsDone);

    /// <summary>Seconds left at the pace of the epochs so far (null before the first epoch).</summary>
    public double? SecondsLeft => Epochs.Count == 0 || !Run.IsActive ? null
        : Epochs.Average(e => e.Seconds) * Math.Max(0, Run.EpochsTotal - Run.EpochsDone);
}

/// <summary>Runs of a dataset: launch, follow, cancel, re-queue, retrain (<c>userId</c> is always the signed-in caller;
/// every call is authorized through <see cref="TeamAccess"/>). The <see cref="JobScheduler"/> does the running.</summary>
public sealed class JobService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    JobScheduler scheduler,
    JobNotifier notifier,
    WorkerRegistryService registry,
    TimeProvider clock)
{
    private const int LogLinesShown = 200;

    public async Task<LaunchContext> LaunchContextAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var dataset = await access.Datasets.Where(d => d.Id == datasetId)
            .Select(d => new { d.Id, d.Name, d.ProjectId, Project = d.Project!.Name, d.Project.TeamId, d.TestSplitFrozen })
            .FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException("Dataset");
        var role = await access.RoleInAsync(dataset.TeamId, cancellationToken);
        var content = await TrainableContentAsync(db, datasetId, cancellationToken);
        var (backbones, workerProblem) = await BackbonesAsync(db, cancellationToken);
        return new LaunchContext(dataset.Id, dataset.Name, dataset.ProjectId, dataset.Project, role?.Allows(TeamPermission.EditContent) == true,
            content.ClassNames, content.Count(DatasetSplit.Train), content.Count(DatasetSplit.Val), content.Count(DatasetSplit.Test),
            content.Unusable, dataset.TestSplitFrozen, backbones, workerProblem, content.Problems(), content.Check.Warnings);
    }

    /// <summary>Queues one run, or <see cref="JobSettings.Repeats"/> runs with consecutive seeds; returns their ids.</summary>
    /// <exception cref="InvalidInputException">Settings out of range, or a backbone no enabled worker offers.</exception>
    /// <exception cref="RuleViolationException">The dataset cannot train (see <see cref="TrainingDataRules"/>).</exception>
    public async Task<IReadOnlyList<int>> LaunchAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken = default) =>
        (await QueueAsync(userId, datasetId, settings, cancellationToken)).Ids;

    /// <summary>As <see cref="LaunchAsync"/>, with the warnings about the data that the runs' numbers carry (they are
    /// also written to each run's log).</summary>
    public async Task<LaunchOutcome> QueueAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken = default)
    {
        Refuse(settings.Problems());
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        await RequireOfferedAsync(db, settings, cancellationToken);
        var content = await TrainableContentAsync(db, datasetId, cancellationToken);
        if (content.Problems() is { Count: > 0 } dataProblems) throw new RuleViolationException(string.Join(" ", dataProblems));

        var group = settings.Repeats > 1 ? Guid.NewGuid().ToString("N") : null;
        var now = clock.GetUtcNow().UtcDateTime;
        var jobs = new List<TrainingJob>();
        for (var i = 0; i < settings.Repeats; i++)
        {
            var seed = settings.Seed + i;
            var spec = settings.ToSpec(seed);
            spec.ClassNames.AddRange(content.ClassNames);
            spec.Items.AddRange(content.Items);
            spec.DatasetVersion = content.Version;
            jobs.Add(new TrainingJob
            {
                DatasetId = datasetId,
                Kind = JobKind.Training,
                Status = JobStatus.Queued,
                SettingsJson = JsonSerializer.Serialize(settings),
                Backbone = settings.Backbone,
                Mode = settings.Mode,
                Seed = seed,
                SeedGroup = group,
                Spec = spec.ToByteArray(),
                ClassNamesJson = JsonSerializer.Serialize(content.ClassNames),
                ImageNamesJson = JsonSerializer.Serialize(content.ImageNames),
                DatasetVersion = content.Version,
                ImageCount = content.Items.Count,
                CreatedByUserId = userId,
                CreatedAt = now,
                EpochsTotal = settings.Epochs,
                AutoRetriesLeft = scheduler.WorkerLostRetries,
                // Known from the data already; the worker's evaluation confirms it.
                EvaluatedSplit = SplitName(content.Check.EvaluatedSplit),
                Logs = [.. content.Check.Warnings.Select(w => new JobLogLine { At = now, Level = "warning", Message = w })],
            });
        }
        db.Jobs.AddRange(jobs);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var job in jobs) notifier.Publish(new JobUpdate(job.Id, datasetId, job.Status));
        scheduler.Wake();
        return new LaunchOutcome([.. jobs.Select(j => j.Id)], content.Check.Warnings);
    }

    private static void Refuse(IReadOnlyList<JobProblem> problems)
    {
        if (problems.Count > 0) throw new InvalidInputException([.. problems.Select(p => (p.Field, p.Message))]);
    }

    /// <summary>The backbone must be one an enabled worker offers (asked live, so its stage count is checked too); when
    /// no worker answers, what they offered at their last contact decides. With no worker known at all the run is
    /// queued and says why it waits.</summary>
    private async Task RequireOfferedAsync(TransferHubDbContext db, JobSettings settings, CancellationToken cancellationToken)
    {
        var (live, _) = await BackbonesAsync(db, cancellationToken);
        if (live.FirstOrDefault(b => b.Name == settings.Backbone) is { } chosen)
        {
            Refuse(settings.Problems(chosen.Stages));
            return;
        }
        var offered = live.Count > 0 ? live.Select(b => b.Name).ToList()
            : (await db.Workers.Where(w => w.Enabled).Select(w => w.Backbones).ToListAsync(cancellationToken))
                .SelectMany(b => b.Split(',', StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal).ToList();
        if (offered.Count > 0 && !offered.Contains(settings.Backbone))
            Refuse([new JobProblem("backbone", $"No enabled worker offers the backbone '{settings.Backbone}'. Offered: {string.Join(", ", offered)}.")]);
    }

    internal static string SplitName(DataSplitKind split) => split switch
    {
        DataSplitKind.Test => "test",
        DataSplitKind.Val => "val",
        _ => "train",
    };

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

    /// <summary>The run page's content, or null when the caller cannot see such a run.</summary>
    public async Task<RunDetails?> GetAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var job = await access.Jobs.Where(j => j.Id == jobId)
            .Select(j => new { Job = j, DatasetName = j.Dataset!.Name, j.Dataset.ProjectId, ProjectName = j.Dataset.Project!.Name,
                j.Dataset.Project.TeamId, TeamName = j.Dataset.Project.Team!.Name })
            .AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (job is null) return null;
        var role = await access.RoleInAsync(job.TeamId, cancellationToken);
        var epochs = await db.JobEpochs.Where(e => e.JobId == jobId && e.Attempt == job.Job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest))
            .ToListAsync(cancellationToken);
        var log = await db.JobLogLines.Where(l => l.JobId == jobId).OrderByDescending(l => l.Id).Take(LogLinesShown)
            .Select(l => new LogEntry(l.At, l.Level, l.Message)).ToListAsync(cancellationToken);
        log.Reverse();
        var summary = Summarize(job.Job, job.DatasetName, epochs);
        var settings = job.Job.Kind == JobKind.Ensemble ? [new("Members", job.Job.EnsembleOf ?? "")]
            : Settings(job.Job).Describe(job.Job.Seed);
        return new RunDetails(summary, job.ProjectId, job.ProjectName, job.TeamName, role?.Allows(TeamPermission.EditContent) == true,
            settings, job.Job.Attempt, job.Job.Device, job.Job.TrainImages, job.Job.ValImages, job.Job.TestImages, epochs, log,
            job.Job.ModelBytes is > 0, JobScheduler.ClassNames(job.Job), job.Job.BestEpoch, job.Job.StoppedEarly);
    }

    /// <summary>Stops a queued or running run. Queued runs end at once; running ones when the worker confirms.</summary>
    public async Task CancelAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).RequireJobAsync(jobId, TeamPermission.EditContent, cancellationToken);
        if (job.IsFinished) throw new RuleViolationException($"Run #{jobId} has already ended ({Describe(job.Status)}).");
        job.CancelRequested = true;
        var queued = job.Status == JobStatus.Queued;
        if (queued)
        {
            job.Status = JobStatus.Cancelled;
            job.Message = "Cancelled before it started.";
            job.FinishedAt = clock.GetUtcNow().UtcDateTime;
        }
        await db.SaveChangesAsync(cancellationToken);
        if (queued) notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
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
            throw new RuleViolationException($"Only failed, cancelled or lost runs can be re-queued; run #{jobId} is {Describe(job.Status)}.");
        job.Status = JobStatus.Queued;
        job.CancelRequested = false;
        job.Message = null;
        job.FinishedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(job.Id, job.DatasetId, job.Status));
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

    /// <summary>SHA-256 → original file name of the run's images as recorded at launch (empty when none were).</summary>
    internal static IReadOnlyDictionary<string, string> ImageNames(TrainingJob job) =>
        job.ImageNamesJson is { } json ? JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [] : new Dictionary<string, string>();

    internal static JobSettings Settings(TrainingJob job) => JsonSerializer.Deserialize<JobSettings>(job.SettingsJson) ?? new JobSettings();

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
            SettingsJson = "", ClassNamesJson = "",
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
            .Select(e => new { e.JobId, e.Attempt, e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest })
            .ToListAsync(cancellationToken);
        var byJob = epochs.ToLookup(e => e.JobId);
        return [.. rows.Select(r => Summarize(r.Job, r.DatasetName, [.. byJob[r.Job.Id].Where(e => e.Attempt == r.Job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest))]))];
    }

    internal static RunSummary Summarize(TrainingJob j, string datasetName, IReadOnlyList<EpochPoint> epochs) => new(
        j.Id, j.DatasetId, datasetName, j.Kind, j.Status, j.Backbone, j.Mode, j.Seed, j.SeedGroup, j.DatasetVersion, j.EpochsDone, j.EpochsTotal,
        j.Accuracy, j.MacroF1, epochs.Max(e => e.ValAccuracy), epochs.Count == 0 ? null : epochs[^1].ValAccuracy, j.TrainingSeconds,
        j.TotalParameters, j.TrainableParameters, j.WorkerName, j.Message, j.CreatedAt, j.FinishedAt, j.EnsembleOf, j.EvaluatedSplit);

    /// <summary>Backbones offered by the enabled workers that answer now (asked live, so the list is current).</summary>
    private async Task<(IReadOnlyList<BackboneChoice>, string?)> BackbonesAsync(TransferHubDbContext db, CancellationToken cancellationToken)
    {
        var workers = await db.Workers.Where(w => w.Enabled).ToListAsync(cancellationToken);
        if (workers.Count == 0) return ([], "No worker is registered or enabled: a site admin must register one on the Workers page.");
        var choices = new Dictionary<string, BackboneChoice>();
        foreach (var worker in workers)
        {
            var contact = await registry.ContactAsync(worker, cancellationToken);
            foreach (var b in contact.Info?.Backbones.Where(b => b.Error == "") ?? [])
                choices.TryAdd(b.Name, new BackboneChoice(b.Name, b.DisplayName, b.InputSize, b.Stages, b.Parameters, b.Pretrained));
        }
        await db.SaveChangesAsync(cancellationToken);
        return choices.Count == 0
            ? ([], "No worker answers right now. Runs can still be queued once a worker is back; ask a site admin to check the Workers page.")
            : ([.. choices.Values.OrderByDescending(c => c.Pretrained).ThenBy(c => c.Name)], null);
    }

    private sealed record TrainableContent(IReadOnlyList<string> ClassNames, IReadOnlyList<DatasetItem> Items, int Unusable, int NoSplit,
        string Version, TrainingDataCheck Check, IReadOnlyDictionary<string, string> ImageNames)
    {
        public int Count(DatasetSplit split) => Items.Count(i => i.Split == (split switch
        {
            DatasetSplit.Train => Split.Train,
            DatasetSplit.Val => Split.Val,
            _ => Split.Test,
        }));

        public IReadOnlyList<string> Problems() => NoSplit > 0
            ? [.. Check.Problems, $"{NoSplit} labelled image(s) are in no split: split the dataset so every image has one."]
            : Check.Problems;
    }

    /// <summary>Labelled images in a split, classes in their ordinal order (= model output order), and the content version.</summary>
    private static async Task<TrainableContent> TrainableContentAsync(TransferHubDbContext db, int datasetId, CancellationToken cancellationToken)
    {
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).ThenBy(c => c.Id)
            .Select(c => new { c.Id, c.Name }).ToListAsync(cancellationToken);
        var rows = await db.DatasetImages.Where(i => i.DatasetId == datasetId)
            .Select(i => new { i.Sha256, i.ClassId, i.Split, i.OriginalName }).ToListAsync(cancellationToken);
        // Only classes that have images become model outputs; an empty class would be a label the model never saw.
        var used = classes.Where(c => rows.Any(r => r.ClassId == c.Id)).ToList();
        var index = used.Select((c, i) => (c.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var items = rows.Where(r => r.ClassId is { } id && index.ContainsKey(id) && r.Split != DatasetSplit.Unassigned)
            .Select(r => new DatasetItem
            {
                Sha256 = r.Sha256,
                ClassIndex = index[r.ClassId!.Value],
                Split = r.Split switch { DatasetSplit.Train => Split.Train, DatasetSplit.Val => Split.Val, _ => Split.Test },
            }).ToList();
        var names = classes.ToDictionary(c => c.Id, c => c.Name);
        var version = DatasetSplitService.ContentVersion(rows.Select(r => (r.Sha256, r.ClassId is { } id ? names[id] : "", r.Split)));
        var noSplit = rows.Count(r => r.ClassId is not null && r.Split == DatasetSplit.Unassigned);
        var classNames = used.Select(c => c.Name).ToList();
        var check = TrainingDataRules.Check(classNames, items.Select(i => (i.ClassIndex, i.Split switch
        {
            Split.Train => DataSplitKind.Train,
            Split.Val => DataSplitKind.Val,
            _ => DataSplitKind.Test,
        })));
        var inRun = items.Select(i => i.Sha256).ToHashSet(StringComparer.Ordinal);
        var imageNames = rows.Where(r => inRun.Contains(r.Sha256)).GroupBy(r => r.Sha256, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().OriginalName, StringComparer.Ordinal);
        return new TrainableContent(classNames, items, rows.Count - items.Count, noSplit, version, check, imageNames);
    }
}
