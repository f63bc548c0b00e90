using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A backbone some online worker offers, as the launch form shows it.</summary>
public sealed record BackboneChoice(string Name, string DisplayName, int InputSize, int Stages, long Parameters, bool Pretrained);

/// <summary>What the launch form needs: the dataset's trainable content, what stops it from training
/// (<see cref="TrainingReadiness"/>, most important first) and what the workers offer.</summary>
/// <param name="Unlabelled">Images without a class, which every run leaves out.</param>
public sealed record LaunchContext(int DatasetId, string DatasetName, int ProjectId, string ProjectName, bool CanEdit,
    IReadOnlyList<string> ClassNames, int Train, int Val, int Test, int Unlabelled, bool TestFrozen,
    IReadOnlyList<BackboneChoice> Backbones, string? WorkerProblem, IReadOnlyList<LaunchBlocker> Blockers, IReadOnlyList<string> DatasetWarnings,
    AutoBudgetDefault AutoBudget);

/// <summary>Auto mode's default time budget for this fleet (<see cref="JobDefaults.AutoTimeBudgetFor"/>): 60 s, more when
/// the slowest enabled worker measured a lower feature throughput than the 2-core CPU the 60 s were measured on.</summary>
/// <param name="SlowestWorker">The enabled worker with the lowest measured throughput (null: none has measured yet).</param>
/// <param name="SlowestPassesPerSecond">Its throughput, forward passes per second at 224 px.</param>
public sealed record AutoBudgetDefault(int Seconds, string? SlowestWorker, double? SlowestPassesPerSecond)
{
    /// <summary>Why the default is what it is, for the launch form.</summary>
    public string Explanation => SlowestPassesPerSecond is not { } rate
        ? FormattableString.Invariant($"Default {Seconds} s, measured on a 2-core CPU worker; it grows for slower workers once they have measured their speed.")
        : Seconds > JobDefaults.AutoTimeBudgetSeconds
            ? FormattableString.Invariant($"Default {Seconds} s: the slowest worker, {SlowestWorker}, computes features at {rate:0.#} images/s, slower than the {JobDefaults.ReferenceFeaturePassesPerSecond:0} of the 2-core CPU worker that {JobDefaults.AutoTimeBudgetSeconds} s were measured on.")
            : FormattableString.Invariant($"Default {Seconds} s: every worker computes features at least as fast as the 2-core CPU worker that default was measured on (slowest: {SlowestWorker}, {rate:0.#} images/s).");
}

/// <summary>What a launch queued, and what the runs' numbers will mean (<see cref="TrainingDataRules"/> warnings).</summary>
public sealed record LaunchOutcome(IReadOnlyList<int> Ids, IReadOnlyList<string> Warnings);

/// <summary>Launching runs: what the launch form offers (the dataset's trainable content, the backbones workers offer
/// now) and queueing, with every check a worker would make done first (<see cref="JobRules"/>,
/// <see cref="TrainingDataRules"/>, the backbone offered by an enabled worker).</summary>
public sealed class RunLauncher(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    JobScheduler scheduler,
    JobNotifier notifier,
    WorkerRegistryService registry,
    WorkerMonitor monitor,
    TimeProvider clock)
{
    /// <summary>The launch form's data: the dataset's trainable content, its problems and warnings, the backbones.</summary>
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
        var canEdit = role?.Allows(TeamPermission.EditContent) == true;
        return new LaunchContext(dataset.Id, dataset.Name, dataset.ProjectId, dataset.Project, canEdit,
            content.ClassNames, content.Count(DatasetSplit.Train), content.Count(DatasetSplit.Val), content.Count(DatasetSplit.Test),
            content.Unlabelled, dataset.TestSplitFrozen, backbones, workerProblem,
            TrainingReadiness.Of(content.Classes, content.Unlabelled, dataset.TestSplitFrozen, canEdit),
            // Warnings about held-out images mean nothing while the data cannot train at all.
            content.Check.Problems.Count > 0 || content.NoSplit > 0 ? [] : content.Check.Warnings,
            await AutoBudgetAsync(db, cancellationToken));
    }

    /// <summary>Queues one run, or <see cref="JobSettings.Repeats"/> runs with consecutive seeds: their ids and the
    /// warnings about the data that the runs' numbers carry (also written to each run's log).</summary>
    /// <exception cref="InvalidInputException">Settings out of range, or a backbone no enabled worker offers.</exception>
    /// <exception cref="RuleViolationException">The dataset cannot train (see <see cref="TrainingDataRules"/>).</exception>
    public async Task<LaunchOutcome> QueueAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var content = await CheckedContentAsync(db, userId, datasetId, settings, cancellationToken);

        IReadOnlyList<string> warnings = settings.LearningRateWarning() is { } high ? [.. content.Check.Warnings, high] : content.Check.Warnings;
        var group = settings.Repeats > 1 ? Guid.NewGuid().ToString("N") : null;
        var facts = Doctor.RunDataFacts.Of(content.ClassNames, content.DoctorImages()).ToJson();
        var now = clock.GetUtcNow().UtcDateTime;
        var jobs = new List<TrainingJob>();
        for (var i = 0; i < settings.Repeats; i++)
        {
            var seed = settings.Seed + i;
            var spec = RunSpec.Encode(new TrainingRequest(settings, seed, content.ClassNames, content.Items, content.Version));
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
                Spec = spec,
                ClassNamesJson = JsonSerializer.Serialize(content.ClassNames),
                ImageNamesJson = JsonSerializer.Serialize(content.ImageNames),
                DatasetVersion = content.Version,
                ImageCount = content.Items.Count,
                // Known at launch, so a waiting run does not show "0 train · 0 val · 0 test images"; the worker's start confirms them.
                TrainImages = content.Count(DatasetSplit.Train),
                ValImages = content.Count(DatasetSplit.Val),
                TestImages = content.Count(DatasetSplit.Test),
                DataFactsJson = facts,
                CreatedByUserId = userId,
                CreatedAt = now,
                // Auto runs have no epochs: they spend a time budget on choosing a classifier.
                EpochsTotal = settings.Mode == TrainingMode.Auto ? 0 : settings.Epochs,
                TimeBudgetSeconds = settings.Mode == TrainingMode.Auto ? settings.TimeBudgetSeconds : null,
                AutoRetriesLeft = scheduler.WorkerLostRetries,
                // Known from the data already; the worker's evaluation confirms it.
                EvaluatedSplit = SplitName(content.Check.EvaluatedSplit),
                Logs = [.. warnings.Select(w => new JobLogLine { At = now, Level = "warning", Message = w })],
            });
        }
        db.Jobs.AddRange(jobs);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var job in jobs) notifier.Publish(new JobUpdate(job.Id, datasetId, job.Status));
        TransferHub.Web.Features.Telemetry.Telemetry.RunsQueued.Add(jobs.Count);
        scheduler.Wake();
        return new LaunchOutcome([.. jobs.Select(j => j.Id)], warnings);
    }

    /// <summary>The run spec <paramref name="settings"/> would queue (the first seed), checked as a launch is, without
    /// queueing anything: what the learning-rate finder sends a worker.</summary>
    /// <exception cref="InvalidInputException">Settings out of range, or a backbone no enabled worker offers.</exception>
    /// <exception cref="RuleViolationException">The dataset cannot train.</exception>
    internal async Task<byte[]> CheckedSpecAsync(string userId, int datasetId, JobSettings settings, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var content = await CheckedContentAsync(db, userId, datasetId, settings, cancellationToken);
        return RunSpec.Encode(new TrainingRequest(settings, settings.Seed, content.ClassNames, content.Items, content.Version));
    }

    /// <summary>Every check a launch makes, in order: the settings, the caller's right to edit the dataset, a worker
    /// offering the backbone, and data that can train; then the dataset's trainable content.</summary>
    private async Task<TrainableContent> CheckedContentAsync(TransferHubDbContext db, string userId, int datasetId, JobSettings settings,
        CancellationToken cancellationToken)
    {
        Refuse(settings.Problems());
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        await RequireOfferedAsync(db, settings, cancellationToken);
        var content = await TrainableContentAsync(db, datasetId, cancellationToken);
        // The same blockers the launch form and the dataset page show (the caller's role is checked above).
        if (TrainingReadiness.Of(content.Classes, content.Unlabelled, dataset.TestSplitFrozen, canEdit: true) is [var blocker, ..])
            throw new RuleViolationException(blocker.Reason);
        return content;
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

    /// <summary>Backbones offered by the enabled workers that answer, as the <see cref="WorkerMonitor"/> last heard them
    /// (it checks every few seconds); a worker it has not described yet is asked now.</summary>
    /// <summary>Auto mode's default time budget for the enabled workers' measured throughput (<see cref="AutoBudgetDefault"/>).</summary>
    public async Task<AutoBudgetDefault> AutoBudgetDefaultAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await AutoBudgetAsync(db, cancellationToken);
    }

    private static async Task<AutoBudgetDefault> AutoBudgetAsync(TransferHubDbContext db, CancellationToken cancellationToken)
    {
        var slowest = (await db.Workers.Where(w => w.Enabled && w.FeatureImagesPerSecond != null)
                .Select(w => new { w.Name, Rate = w.FeatureImagesPerSecond!.Value }).ToListAsync(cancellationToken))
            .MinBy(w => w.Rate); // a fleet is a handful of rows
        return new AutoBudgetDefault(JobDefaults.AutoTimeBudgetFor(slowest?.Rate), slowest?.Name, slowest?.Rate);
    }

    /// <summary>The backbones enabled workers offer (pretrained first), or why there are none.</summary>
    public async Task<(IReadOnlyList<BackboneChoice> Backbones, string? Problem)> OfferedBackbonesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await BackbonesAsync(db, cancellationToken);
    }

    private async Task<(IReadOnlyList<BackboneChoice>, string?)> BackbonesAsync(TransferHubDbContext db, CancellationToken cancellationToken)
    {
        var workers = await db.Workers.Where(w => w.Enabled).ToListAsync(cancellationToken);
        if (workers.Count == 0) return ([], "No worker is registered or enabled: a site admin must register one on the Workers page.");
        var choices = new Dictionary<string, BackboneChoice>();
        foreach (var worker in workers)
        {
            var described = monitor.Described.GetValueOrDefault(worker.Id);
            if (described is null)
            {
                described = (await registry.ContactAsync(worker, cancellationToken)).Info;
                await db.SaveChangesAsync(cancellationToken);
            }
            else if (worker.Status != WorkerStatus.Online)
                continue;
            foreach (var b in described?.Backbones.Where(b => b.Error is null) ?? [])
                choices.TryAdd(b.Name, new BackboneChoice(b.Name, b.DisplayName, b.InputSize, b.Stages, b.Parameters, b.Pretrained));
        }
        return choices.Count == 0
            ? ([], "No worker answers right now. Runs can still be queued once a worker is back; ask a site admin to check the Workers page.")
            : ([.. choices.Values.OrderByDescending(c => c.Pretrained).ThenBy(c => c.Name)], null);
    }

    private sealed record TrainableContent(IReadOnlyList<string> ClassNames, IReadOnlyList<TrainingImage> Items, int Unlabelled, int NoSplit,
        string Version, TrainingDataCheck Check, IReadOnlyDictionary<string, string> ImageNames,
        IReadOnlyDictionary<string, (int Width, int Height, long? Hash)> Pictures, IReadOnlyList<Datasets.ClassCount> Classes)
    {
        /// <summary>The run's images as its data facts see them (<see cref="Doctor.RunDataFacts"/>).</summary>
        public IReadOnlyList<Doctor.RunDataFacts.Image> DoctorImages() => [.. Items.Select(i =>
        {
            var picture = Pictures[i.Sha256];
            return new Doctor.RunDataFacts.Image(ImageNames.GetValueOrDefault(i.Sha256) ?? i.Sha256[..12], i.ClassIndex, i.Split,
                picture.Width, picture.Height, picture.Hash);
        })];

        public int Count(DatasetSplit split) => Items.Count(i => i.Split == (split switch
        {
            DatasetSplit.Train => DataSplitKind.Train,
            DatasetSplit.Val => DataSplitKind.Val,
            _ => DataSplitKind.Test,
        }));
    }

    /// <summary>Labelled images in a split, classes in their ordinal order (= model output order), and the content version.</summary>
    private static async Task<TrainableContent> TrainableContentAsync(TransferHubDbContext db, int datasetId, CancellationToken cancellationToken)
    {
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).ThenBy(c => c.Id)
            .Select(c => new { c.Id, c.Name }).ToListAsync(cancellationToken);
        var rows = await db.DatasetImages.Where(i => i.DatasetId == datasetId)
            .Select(i => new { i.Sha256, i.ClassId, i.Split, i.OriginalName, i.Width, i.Height, i.PerceptualHash }).ToListAsync(cancellationToken);
        // Only classes that have images become model outputs; an empty class would be a label the model never saw.
        var used = classes.Where(c => rows.Any(r => r.ClassId == c.Id)).ToList();
        var index = used.Select((c, i) => (c.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var items = rows.Where(r => r.ClassId is { } id && index.ContainsKey(id) && r.Split != DatasetSplit.Unassigned)
            .Select(r => new TrainingImage(r.Sha256, index[r.ClassId!.Value],
                r.Split switch { DatasetSplit.Train => DataSplitKind.Train, DatasetSplit.Val => DataSplitKind.Val, _ => DataSplitKind.Test }))
            .ToList();
        var names = classes.ToDictionary(c => c.Id, c => c.Name);
        var version = DatasetSplitService.ContentVersion(rows.Select(r => (r.Sha256, r.ClassId is { } id ? names[id] : "", r.Split)));
        var noSplit = rows.Count(r => r.ClassId is not null && r.Split == DatasetSplit.Unassigned);
        var classNames = used.Select(c => c.Name).ToList();
        var check = TrainingDataRules.Check(classNames, items.Select(i => (i.ClassIndex, i.Split)));
        // File names as they are now, kept with the run: its reports name its images even after they leave the dataset.
        var inRun = items.Select(i => i.Sha256).ToHashSet(StringComparer.Ordinal);
        var imageNames = rows.Where(r => inRun.Contains(r.Sha256)).GroupBy(r => r.Sha256, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().OriginalName, StringComparer.Ordinal);
        var pictures = rows.Where(r => inRun.Contains(r.Sha256)).GroupBy(r => r.Sha256, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (g.First().Width, g.First().Height, g.First().PerceptualHash), StringComparer.Ordinal);
        var byClass = rows.Where(r => r.ClassId is not null).ToLookup(r => r.ClassId!.Value);
        var counts = classes.Select((c, i) =>
        {
            var mine = byClass[c.Id].ToList();
            return new Datasets.ClassCount(c.Id, c.Name, i, mine.Count(r => r.Split == DatasetSplit.Train), mine.Count(r => r.Split == DatasetSplit.Val),
                mine.Count(r => r.Split == DatasetSplit.Test), mine.Count(r => r.Split == DatasetSplit.Unassigned));
        }).ToList();
        return new TrainableContent(classNames, items, rows.Count(r => r.ClassId is null), noSplit, version, check, imageNames, pictures, counts);
    }
}
