using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>Reads what the <see cref="TrainingDoctor"/> needs of stored runs: the run row (settings, classes, data
/// facts), its epochs (the caller has them already) and finished sibling runs on the same data (one query for any
/// number of runs). Callers authorize the runs first; siblings share the run's dataset, so the same team sees them.</summary>
internal static class RunDoctor
{
    /// <summary>The findings about <paramref name="job"/> (its <c>SettingsJson</c>, <c>ClassNamesJson</c> and
    /// <c>DataFactsJson</c> loaded) with <paramref name="epochs"/> of its current attempt.</summary>
    public static IReadOnlyList<Finding> Diagnose(TrainingJob job, IReadOnlyList<EpochPoint> epochs, ILookup<(int, string), SiblingRun> siblings) =>
        TrainingDoctor.Diagnose(Input(job, epochs, [.. siblings[(job.DatasetId, job.DatasetVersion)].Where(s => s.Id != job.Id)]));

    public static DoctorInput Input(TrainingJob job, IReadOnlyList<EpochPoint> epochs, IReadOnlyList<SiblingRun> siblings)
    {
        var data = RunDataFacts.FromJson(job.DataFactsJson);
        var classes = string.IsNullOrEmpty(job.ClassNamesJson) ? data?.Classes.Count ?? 0
            : JsonSerializer.Deserialize<string[]>(job.ClassNamesJson)?.Length ?? 0;
        return new DoctorInput(job.Status, job.Kind, job.Mode, job.Message, job.EvaluatedSplit, classes, job.ValImages,
            job.Kind == JobKind.Ensemble || string.IsNullOrEmpty(job.SettingsJson) ? null : JobService.Settings(job), epochs, data, siblings);
    }

    /// <summary>Completed feature-extraction and fine-tuning runs with validation curves on the datasets and content
    /// versions of <paramref name="jobs"/>, keyed by (dataset id, content version), each with its best validation
    /// accuracy. Only completed frozen or fine-tuned runs with validation images compare modes, so other runs cost no query.</summary>
    public static async Task<ILookup<(int, string), SiblingRun>> SiblingsAsync(TransferHubDbContext db, IEnumerable<TrainingJob> jobs,
        CancellationToken cancellationToken)
    {
        var wanted = jobs.Where(j => j.Kind == JobKind.Training && j.Status == JobStatus.Completed && j.ValImages > 0
                && j.Mode is TrainingMode.FeatureExtraction or TrainingMode.FineTune)
            .Select(j => j.DatasetId).Distinct().ToList();
        if (wanted.Count == 0) return Array.Empty<SiblingRun>().ToLookup(_ => (0, ""));
        var rows = await db.Jobs.Where(j => wanted.Contains(j.DatasetId) && j.Kind == JobKind.Training && j.Status == JobStatus.Completed
                && (j.Mode == TrainingMode.FeatureExtraction || j.Mode == TrainingMode.FineTune))
            .Select(j => new { j.Id, j.DatasetId, j.DatasetVersion, j.Mode,
                Best = db.JobEpochs.Where(e => e.JobId == j.Id && e.Attempt == j.Attempt).Max(e => e.ValAccuracy) })
            .ToListAsync(cancellationToken);
        return rows.Where(r => r.Best is not null)
            .ToLookup(r => (r.DatasetId, r.DatasetVersion), r => new SiblingRun(r.Id, r.Mode, r.Best!.Value));
    }
}
