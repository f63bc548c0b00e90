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

public sealed record ComparedRun(RunSummary Run, IReadOnlyList<KeyValuePair<string, string>> Settings, IReadOnlyList<EpochPoint> Epochs);

/// <summary>The comparison table, seed groups and curves of chosen runs, and whether their test sets are the same.</summary>
public sealed record ComparisonView(IReadOnlyList<ComparedRun> Runs, IReadOnlyList<SeedGroupRow> Groups, bool SameTestImages)
{
    public string? TestSetNote => SameTestImages ? null
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

        var runs = jobs.Select(job =>
        {
            var points = epochs[job.Id].Where(e => e.Attempt == job.Attempt)
                .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate)).ToList();
            var settings = job.Kind == JobKind.Ensemble ? [new("Members", job.EnsembleOf ?? "")] : JobService.Settings(job).Describe(job.Seed);
            return new ComparedRun(JobService.Summarize(job, datasetNames[job.DatasetId], points), settings, points);
        }).ToList();

        var groups = runs.Where(r => r.Run.Kind == JobKind.Training)
            .GroupBy(r => Configuration(r.Settings))
            .Select(g => new SeedGroupRow(g.Key, [.. g.Select(r => r.Run.Id)], Spread.Of(g.Select(r => r.Run.Accuracy)),
                Spread.Of(g.Select(r => r.Run.MacroF1)), Spread.Of(g.Select(r => r.Run.BestValAccuracy))))
            .ToList();

        // Runs evaluated on other splits are named by SplitNote; "different test images" speaks of test sets only.
        var testSets = jobs.Where(j => j.EvaluationJson is not null && j.EvaluatedSplit is null or "test")
            .Select(j => TestSet(Jobs.RunEvaluation.FromJson(j.EvaluationJson!))).Distinct().ToList();
        return new ComparisonView(runs, groups, SameTestImages: testSets.Count <= 1);
    }

    /// <summary>Averages the members' predicted probabilities on their common test images and stores the result as a
    /// run of kind Ensemble, shown like any run.</summary>
    public async Task<int> EnsembleAsync(string userId, int projectId, IReadOnlyCollection<int> jobIds, CancellationToken cancellationToken = default)
    {
        if (jobIds.Count < 2) throw new RuleViolationException("Pick at least two finished runs for an ensemble.");
        var jobs = await LoadAsync(userId, projectId, jobIds, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var first = jobs[0];
        await new TeamAccess(db, userId).RequireDatasetAsync(first.DatasetId, TeamPermission.EditContent, cancellationToken);
        if (jobs.Any(j => j.Kind != JobKind.Training || j.Status != JobStatus.Completed || j.EvaluationJson is null))
            throw new RuleViolationException("Only completed training runs can form an ensemble.");
        var evaluations = jobs.Select(j => Jobs.RunEvaluation.FromJson(j.EvaluationJson!)).ToList();
        var classes = evaluations[0].ClassNames;
        if (evaluations.Any(e => !e.ClassNames.SequenceEqual(classes)))
            throw new RuleViolationException("The runs have different classes (or class order): an ensemble needs the same classes.");
        var testSet = TestSet(evaluations[0]);
        if (evaluations.Any(e => TestSet(e) != testSet))
            throw new RuleViolationException("The runs were evaluated on different test images: freeze the test split and use runs made since.");

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
            TestImages = result.Predictions.Count,
            TrainingSeconds = jobs.Sum(j => j.TrainingSeconds ?? 0),
            TotalParameters = jobs.Sum(j => j.TotalParameters),
        };
        db.Jobs.Add(ensemble);
        await db.SaveChangesAsync(cancellationToken);
        notifier.Publish(new JobUpdate(ensemble.Id, ensemble.DatasetId, ensemble.Status));
        return ensemble.Id;
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
