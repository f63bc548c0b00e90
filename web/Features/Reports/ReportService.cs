using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using Doctor = TransferHub.Web.Features.Jobs.Doctor;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Reports;

/// <summary>Maps a finished run (authorized for the caller) onto <see cref="RunReport"/>: the evaluation, curves of its
/// last attempt, original file names and the most confident mistakes' thumbnails.</summary>
public sealed class ReportService(IDbContextFactory<TransferHubDbContext> dbFactory, ImageStore images)
{
    public const int MisclassifiedShown = 12;

    /// <summary>The run's report, or null when the caller cannot see such a run; refused when it has no evaluation.</summary>
    public async Task<RunReport?> BuildAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await new TeamAccess(db, userId).Jobs.AsNoTracking().Where(j => j.Id == jobId)
            .Select(j => new { Job = j, Dataset = j.Dataset!.Name, Project = j.Dataset.Project!.Name, Team = j.Dataset.Project.Team!.Name })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null) return null;
        var job = row.Job;
        if (job.EvaluationJson is null) throw new RuleViolationException(JobService.NoEvaluation(job) + ".");
        var evaluation = Jobs.RunEvaluation.FromJson(job.EvaluationJson);
        var names = evaluation.ClassNames;

        var epochs = await db.JobEpochs.Where(e => e.JobId == jobId && e.Attempt == job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new ReportEpoch(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy)).ToListAsync(cancellationToken);
        // The names recorded when the run was launched; runs from before that (and ensembles) look in the dataset.
        var recorded = JobService.ImageNames(job);
        var shas = evaluation.Predictions.Select(p => p.Sha256).Where(s => !recorded.ContainsKey(s)).ToList();
        var fileNames = shas.Count == 0 ? [] : await db.DatasetImages.Where(i => i.DatasetId == job.DatasetId && shas.Contains(i.Sha256))
            .ToDictionaryAsync(i => i.Sha256, i => i.OriginalName, cancellationToken);
        string NameOf(string sha) => recorded.GetValueOrDefault(sha) ?? fileNames.GetValueOrDefault(sha) ?? $"{sha[..12]}… (no longer in the dataset)";

        var mistakes = new List<ReportThumbnail>();
        foreach (var p in evaluation.Predictions.Where(p => !p.Correct).OrderByDescending(p => p.Confidence).Take(MisclassifiedShown))
        {
            try
            {
                await using var stream = images.OpenThumbnail(p.Sha256);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken);
                mistakes.Add(new ReportThumbnail(buffer.ToArray(), $"{names[p.TrueClass]} → {names[p.PredictedClass]}, {p.Confidence:P0}"));
            }
            catch (IOException)
            {
                // A thumbnail missing from storage leaves a smaller page, not a failed report.
            }
        }

        var points = await db.JobEpochs.Where(e => e.JobId == jobId && e.Attempt == job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate))
            .ToListAsync(cancellationToken);
        var findings = Doctor.RunDoctor.Diagnose(job, points, await Doctor.RunDoctor.SiblingsAsync(db, [job], cancellationToken));
        var summary = JobService.Summarize(job, row.Dataset, []);
        var members = await JobService.MemberNumbersAsync(db, job, cancellationToken);
        var hyperparameters = job.Kind == JobKind.Ensemble
            ? [new("Ensemble of", string.Join(", ", (job.EnsembleOf ?? "").Split(',').Select(id =>
                int.TryParse(id, out var member) && members.TryGetValue(member, out var number) ? $"run #{number}" : "a run no longer stored")))]
            : JobService.Settings(job).Describe(job.Seed);
        return new RunReport(
            $"{summary.DisplayName} · {job.Backbone} · {summary.ModeText}",
            row.Team, row.Project, row.Dataset, job.DatasetVersion,
            job.CreatedAt, job.FinishedAt, job.TrainingSeconds ?? 0,
            evaluation.Split, evaluation.Accuracy, evaluation.Loss, job.BestEpoch ?? 0, job.StoppedEarly,
            hyperparameters, epochs, names,
            [.. evaluation.PerClass.Select(Row)], Row(evaluation.Macro), Row(evaluation.Weighted),
            evaluation.Confusion,
            [.. evaluation.Predictions.Select(p => new ReportPrediction(p.Sha256, NameOf(p.Sha256), names[p.TrueClass], names[p.PredictedClass], p.Confidence))],
            mistakes,
            Leaderboard(ModelSelection.FromJson(job.LeaderboardJson)),
            [.. findings.Select(ToReport)])
        {
            Calibration = Calibration(CalibrationView.Of(job.CalibrationJson, job.TargetPrecision)),
        };
    }

    private static ReportCalibration? Calibration(CalibrationView? v) => v is null ? null : new(v.Calibration.Temperature,
        v.Calibration.FittedOn, v.Calibration.FittedOnText, v.Calibration.Note, v.Calibration.Before.Ece, v.Calibration.After.Ece,
        v.Calibration.Before.Bins, v.Calibration.After.Bins, v.TargetPrecision, v.Rejection.Threshold, v.Rejection.Coverage,
        v.Rejection.Precision, v.Rejection.Message);

    /// <summary>A finding as the report carries it (the Reports feature knows no Jobs types).</summary>
    internal static ReportFinding ToReport(Doctor.Finding f) =>
        new(f.Rule, f.Severity.ToString().ToLowerInvariant(), f.Title, f.Evidence, f.Numbers, f.Advice);

    private static ReportLeaderboard? Leaderboard(ModelSelection? selection) => selection is null ? null : new(selection.Winner, selection.WinnerReason,
        [.. selection.Leaderboard.Select(c => new ReportCandidate(c.Rank, c.Name, c.Params, c.Metric, c.CvMean, c.CiLow, c.CiHigh, c.MacroF1, c.Folds, c.Seconds))],
        selection.Skipped);

    private static ReportClassRow Row(ClassScore s) => new(s.ClassName, s.Precision, s.Recall, s.F1, s.Support);
}
