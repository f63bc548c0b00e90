using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Comparison;

/// <summary>Mean and sample standard deviation of a metric over runs (std is null for a single value).</summary>
public sealed record Spread(double Mean, double? Std, int Count)
{
    public static Spread? Of(IEnumerable<double?> values)
    {
        var list = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        if (list.Count == 0) return null;
        var mean = list.Average();
        double? std = list.Count < 2 ? null : Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
        return new Spread(mean, std, list.Count);
    }

    public string Format(string format) => Std is { } s ? $"{Mean.ToString(format)} ± {s.ToString(format)}" : Mean.ToString(format);
}

/// <summary>Runs that differ only in their seed, summarised together.</summary>
public sealed record SeedGroupRow(string Configuration, IReadOnlyList<int> RunIds, Spread? TestAccuracy, Spread? MacroF1, Spread? BestValAccuracy);

/// <param name="Members">An ensemble's member runs with their own scores (empty for training runs).</param>
public sealed record ComparedRun(RunSummary Run, IReadOnlyList<KeyValuePair<string, string>> Settings, IReadOnlyList<EpochPoint> Epochs)
{
    public IReadOnlyList<EnsembleMember> Members { get; init; } = [];
}

/// <summary>The comparison table, seed groups and curves of chosen runs, and whether their test sets are the same.</summary>
public sealed record ComparisonView(IReadOnlyList<ComparedRun> Runs, IReadOnlyList<SeedGroupRow> Groups, bool SameTestImages)
{
    /// <summary>How many datasets the runs were trained on.</summary>
    public int Datasets { get; init; } = 1;

    public string? TestSetNote => Datasets > 1
        ? "These runs were trained and evaluated on different datasets: their numbers measure different tasks, so compare them with care."
        : SameTestImages ? null
            : "These runs were evaluated on different test images (the test split changed between them): compare their numbers with care, or freeze the test split.";

    /// <summary>Said when some runs were not evaluated on a test split: their accuracy is not comparable with tested runs'.</summary>
    public string? SplitNote
    {
        get
        {
            var untested = Runs.Where(r => r.Run.EvaluatedSplit is "train" or "val").Select(r => r.Run).ToList();
            if (untested.Count == 0) return null;
            return string.Join(" ", untested.GroupBy(r => r.EvaluatedSplit).Select(g =>
                $"{string.Join(", ", g.Select(r => r.Title))} {(g.Count() == 1 ? "was" : "were")} evaluated on " +
                (g.Key == "train" ? "training images (no held-out images): optimistic." : "validation images (no test split), which also chose the best epoch."))) +
                " Their accuracy is not comparable with runs evaluated on test images.";
        }
    }
}

/// <summary>Compares runs of a project and builds ensembles of finished runs.</summary>
public sealed class ComparisonService(IDbContextFactory<TransferHubDbContext> dbFactory, JobNotifier notifier, TimeProvider clock)
{
    public const int MaxCompared = 20;

    public async Task<ComparisonView> CompareAsync(string userId, int projectId, IReadOnlyCollection<int> jobIds, CancellationToken cancellationToken = default)
    {
        if (jobIds.Count > MaxCompared) throw new RuleViolationException($"Compare at most {MaxCompared} runs at a time.");
        var jobs = await LoadAsync(userId, projectId, jobIds, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var ids = jobs.Select(j => j.Id).ToList();
        var epochs = (await db.JobEpochs.Where(e => ids.Contains(e.JobId)).OrderBy(e => e.Epoch).ToListAsync(cancellationToken)).ToLookup(e => e.JobId);
        var datasetNames = await db.Datasets.Where(d => jobs.Select(j => j.DatasetId).Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);

        var access = new TeamAccess(db, userId);
        var members = new Dictionary<int, IReadOnlyList<EnsembleMember>>();
        foreach (var ensemble in jobs.Where(j => j.Kind == JobKind.Ensemble))
            members[ensemble.Id] = await JobService.MembersAsync(access, ensemble, cancellationToken);
        var runs = jobs.Select(job =>
        {
            var points = epochs[job.Id].Where(e => e.Attempt == job.Attempt)
                .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate)).ToList();
            var settings = job.Kind == JobKind.Ensemble ? [new("Members", job.EnsembleOf ?? "")] : JobService.Settings(job).Describe(job.Seed);
            return new ComparedRun(JobService.Summarize(job, datasetNames[job.DatasetId], points), settings, points)
            {
                Members = members.GetValueOrDefault(job.Id) ?? [],
            };
        }).ToList();

        // Seeds of one configuration on one dataset: runs on different datasets are not repeats of each other, even with
        // the same settings (a browser walk-through saw two datasets' runs summarised as "90.9 % ± 3.2").
        var datasets = runs.Select(r => r.Run.DatasetId).Distinct().Count();
        var groups = runs.Where(r => r.Run.Kind == JobKind.Training)
            .GroupBy(r => (r.Run.DatasetId, Configuration: Configuration(r.Settings)))
            .Select(g => new SeedGroupRow(datasets > 1 ? $"{g.First().Run.DatasetName}: {g.Key.Configuration}" : g.Key.Configuration,
                [.. g.Select(r => r.Run.Id)], Spread.Of(g.Select(r => r.Run.Accuracy)),
                Spread.Of(g.Select(r => r.Run.MacroF1)), Spread.Of(g.Select(r => r.Run.BestValAccuracy))))
            .ToList();

        // Runs evaluated on other splits are named by SplitNote; "different test images" speaks of test sets only.
        var testSets = jobs.Where(j => j.EvaluationJson is not null && j.EvaluatedSplit is null or "test")
            .Select(j => TestSet(Jobs.RunEvaluation.FromJson(j.EvaluationJson!))).Distinct().ToList();
        return new ComparisonView(runs, groups, SameTestImages: testSets.Count <= 1) { Datasets = datasets };
    }

    /// <summary>What "Ensemble" would make of the chosen runs, for the confirmation: each run with its accuracy, the
    /// images the ensemble would be scored on, a suggested name, and why it cannot be made (null when it can). Anyone who
    /// sees the runs may ask; making it (<see cref="EnsembleAsync"/>) takes an editor.</summary>
    /// <exception cref="NotFoundException">a run the caller cannot see, or of another project</exception>
    public async Task<EnsemblePlan> PlanEnsembleAsync(string userId, int projectId, IReadOnlyCollection<int> jobIds, CancellationToken cancellationToken = default)
    {
        var jobs = await LoadAsync(userId, projectId, jobIds, cancellationToken);
        var (problem, evaluations) = Combinable(jobs);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var names = await db.Jobs.Where(j => j.ProjectId == projectId && j.Name != null).Select(j => j.Name!).ToListAsync(cancellationToken);
        return new EnsemblePlan([.. jobs.Select(EnsembleMember.Of)], problem is null ? evaluations[0].Predictions.Count : 0,
            problem is null ? evaluations[0].Split : null, SuggestName(jobs, names), problem);
    }

    /// <summary>"#1 + #2": the members' labels, made unique among the project's names (" (2)", " (3)"…) and no longer than a
    /// name may be.</summary>
    internal static string SuggestName(IReadOnlyList<TrainingJob> members, IReadOnlyCollection<string> taken)
    {
        var labels = string.Join(" + ", members.Select(m => $"#{m.Number}"));
        var stem = labels.Length <= TrainingJob.NameMaxLength - 6 ? labels : $"{members.Count} runs from #{members.Min(m => m.Number)}";
        var used = taken.Select(t => t.ToLowerInvariant()).ToHashSet();
        var name = stem;
        for (var i = 2; used.Contains(name.ToLowerInvariant()); i++) name = $"{stem} ({i})";
        return name;
    }

    /// <summary>Averages the members' predicted (calibrated) probabilities on their common test images and stores the
    /// result as a run of kind Ensemble named <paramref name="name"/> (the rules of <see cref="RunLabels"/>: trimmed, at
    /// most 100 characters, unique in the project ignoring case; null or empty = unnamed), shown like any run.
    /// Editors and owners only.</summary>
    /// <exception cref="NotFoundException">a run the caller cannot see, or of another project</exception>
    /// <exception cref="ForbiddenException">a viewer</exception>
    /// <exception cref="InvalidInputException">a name that breaks the rules</exception>
    /// <exception cref="RuleViolationException">fewer than two runs, runs that are not completed training runs, different
    /// classes or test images, or a name another run of the project has</exception>
    public async Task<int> EnsembleAsync(string userId, int projectId, IReadOnlyCollection<int> jobIds, string? name = null,
        CancellationToken cancellationToken = default)
    {
        if (jobIds.Count < 2) throw new RuleViolationException("Pick at least two finished runs for an ensemble.");
        var jobs = await LoadAsync(userId, projectId, jobIds, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var first = jobs[0];
        await new TeamAccess(db, userId).RequireDatasetAsync(first.DatasetId, TeamPermission.EditContent, cancellationToken);
        var newName = RunLabels.Normalize(new RunLabelsChange { Name = name ?? "" }).Name is { Length: > 0 } n ? n : null;
        if (newName is not null) await JobService.RequireNameFreeAsync(db, projectId, null, newName, cancellationToken);
        var (problem, evaluations) = Combinable(jobs);
        if (problem is not null) throw new RuleViolationException(problem);
        var classes = evaluations[0].ClassNames;

        var byImage = evaluations.SelectMany(e => e.Predictions).GroupBy(p => p.Sha256);
        var averaged = byImage.Select(g =>
        {
            var probabilities = new float[classes.Count];
            foreach (var p in g)
                for (var c = 0; c < classes.Count; c++) probabilities[c] += p.Probabilities[c] / evaluations.Count;
            return (g.Key, g.First().TrueClass, probabilities);
        }).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();
        if (averaged.Count == 0)
            throw new RuleViolationException("The runs have no evaluated images to combine.");
        var result = Jobs.RunEvaluation.Compute(evaluations[0].Split, classes, averaged);

        var ensemble = new TrainingJob
        {
            DatasetId = first.DatasetId,
            Kind = JobKind.Ensemble,
            Status = JobStatus.Completed,
            SettingsJson = first.SettingsJson,
            Backbone = string.Join(" + ", jobs.Select(j => j.Backbone).Distinct()) is var b && b.Length <= 100 ? b : "ensemble",
            Mode = first.Mode,
            ClassNamesJson = JsonSerializer.Serialize(classes),
            DatasetVersion = first.DatasetVersion,
            ImageCount = first.ImageCount,
            CreatedByUserId = userId,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            FinishedAt = clock.GetUtcNow().UtcDateTime,
            EvaluatedSplit = result.Split,
            Accuracy = result.Accuracy,
            MacroF1 = result.Macro.F1,
            Loss = result.Loss,
            EvaluationJson = result.ToJson(),
            EnsembleOf = string.Join(",", jobs.Select(j => j.Id)),
            ProjectId = projectId,
            Name = newName,
            TestImages = result.Predictions.Count,
            TrainingSeconds = jobs.Sum(j => j.TrainingSeconds ?? 0),
            TotalParameters = jobs.Sum(j => j.TotalParameters),
        };
        db.Jobs.Add(ensemble);
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(ensemble.Id, ensemble.DatasetId, ensemble.Status));
        return ensemble.Id;
    }

    /// <summary>Why these runs cannot form an ensemble (null when they can), and their evaluations.</summary>
    private static (string? Problem, List<Jobs.RunEvaluation> Evaluations) Combinable(IReadOnlyList<TrainingJob> jobs)
    {
        if (jobs.Count < 2) return ("Pick at least two finished runs for an ensemble.", []);
        var unfit = jobs.Where(j => j.Kind != JobKind.Training || j.Status != JobStatus.Completed || j.EvaluationJson is null).ToList();
        if (unfit.Count > 0)
            return ("Only completed training runs can form an ensemble; " + string.Join(", ", unfit.Select(j => j.Kind == JobKind.Ensemble
                ? $"Ensemble #{j.Number} is an ensemble" : $"Run #{j.Number} is {JobService.Describe(j.Status)}")) + ".", []);
        if (jobs.Select(j => j.DatasetId).Distinct().Count() > 1)
            return ("The runs were trained on different datasets: an ensemble combines runs of one dataset, evaluated on the same test images.", []);
        var evaluations = jobs.Select(j => Jobs.RunEvaluation.FromJson(j.EvaluationJson!)).ToList();
        var classes = evaluations[0].ClassNames;
        if (evaluations.Any(e => !e.ClassNames.SequenceEqual(classes)))
            return ("The runs have different classes (or class order): an ensemble needs the same classes.", evaluations);
        var testSet = TestSet(evaluations[0]);
        if (evaluations.Any(e => TestSet(e) != testSet))
            return ("The runs were evaluated on different test images: freeze the test split and use runs made since.", evaluations);
        if (evaluations[0].Predictions.Count == 0) return ("The runs have no evaluated images to combine.", evaluations);
        return (null, evaluations);
    }

    /// <summary>The chosen runs, visible to the caller and of this project, in the order asked.</summary>
    private async Task<List<TrainingJob>> LoadAsync(string userId, int projectId, IReadOnlyCollection<int> jobIds, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var jobs = await new TeamAccess(db, userId).Jobs.AsNoTracking()
            .Where(j => jobIds.Contains(j.Id) && j.Dataset!.ProjectId == projectId).ToListAsync(cancellationToken);
        if (jobs.Count != jobIds.Distinct().Count()) throw new NotFoundException("Run");
        return [.. jobIds.Distinct().Select(id => jobs.First(j => j.Id == id))];
    }

    /// <summary>The settings that define a configuration: everything but the seed.</summary>
    private static string Configuration(IReadOnlyList<KeyValuePair<string, string>> settings) =>
        string.Join(", ", settings.Where(s => s.Key != "Seed").Select(s => s.Value));

    private static string TestSet(Jobs.RunEvaluation evaluation) =>
        string.Join(";", evaluation.Predictions.Select(p => $"{p.Sha256}:{p.TrueClass}").Order(StringComparer.Ordinal));
}
