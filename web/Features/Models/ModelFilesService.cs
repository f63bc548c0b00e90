using System.Globalization;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Models;

/// <summary>
/// A finished run's model as files a team takes away: the ONNX export (made by a worker from the stored model the first
/// time it is asked for, then kept beside the model in <see cref="ModelStore"/>) and the model card. Authorized through
/// <see cref="TeamAccess"/> like every team-owned object: a run the caller cannot see is "not found".
/// </summary>
public sealed class ModelFilesService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerGateway workers,
    WorkerMonitor monitor,
    ModelStore models)
{
    /// <summary>The run's model as ONNX: opset 17, input <c>float32 [N,3,H,W]</c> RGB 0–255 resized as the run resized,
    /// output probabilities <c>[N, classes]</c>; metadata_props carry class names, preprocessing, backbone and the run's
    /// test metrics with their split.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a run.</exception>
    /// <exception cref="RuleViolationException">The run has no stored model, or no worker could export it.</exception>
    public async Task<Stream> OpenOnnxAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await RequireModelAsync(db, userId, jobId, cancellationToken);
        if (models.ContainsOnnx(jobId)) return models.OpenOnnx(jobId);
        var enabled = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Id == job.WorkerId).ThenByDescending(w => w.IsLocal)
            .AsNoTracking().ToListAsync(cancellationToken);
        if (enabled.Count == 0) throw new RuleViolationException("No worker is enabled to export the model: ask a site admin to register one.");
        var c = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["run_id"] = jobId.ToString(c),
            ["accuracy"] = (job.Accuracy ?? 0).ToString("R", c),
            ["macro_f1"] = (job.MacroF1 ?? 0).ToString("R", c),
            ["evaluated_split"] = job.EvaluatedSplit ?? "",
        };
        try
        {
            await WorkerGateway.FirstAnsweringAsync(enabled, worker => models.SaveOnnxAsync(jobId,
                stream => workers.ExportOnnxAsync(worker, job.ModelId!, metadata, () => models.OpenRead(jobId), stream, cancellationToken)));
        }
        catch (NoWorkerAnsweredException e)
        {
            throw new RuleViolationException($"No worker could export the model ({string.Join("; ", e.Problems)}).");
        }
        catch (WorkerRefusedException e)
        {
            throw new RuleViolationException($"The model could not be exported: {e.Detail}");
        }
        return models.OpenOnnx(jobId);
    }

    /// <summary>The run's model card as Markdown (<see cref="ModelCard"/>); any run with an evaluation has one.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a run.</exception>
    /// <exception cref="RuleViolationException">The run has no evaluation yet.</exception>
    public async Task<string> ModelCardAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await new TeamAccess(db, userId).Jobs.Where(j => j.Id == jobId)
            .Select(j => new { Job = j, Dataset = j.Dataset!.Name, Project = j.Dataset.Project!.Name })
            .AsNoTracking().FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException("Run");
        var job = row.Job;
        if (job.EvaluationJson is null)
            throw new RuleViolationException($"Run #{jobId} has no evaluation yet ({JobService.Describe(job.Status)}), so no model card.");
        var settings = job.Kind == JobKind.Ensemble ? [new("Members", job.EnsembleOf ?? "")] : JobService.Settings(job).Describe(job.Seed);
        var source = monitor.Described.Values.SelectMany(d => d.Backbones).FirstOrDefault(b => b.Name == job.Backbone)?.WeightsSource;
        return ModelCard.Markdown(new ModelCardFacts(jobId, row.Project, row.Dataset, job.DatasetVersion, job.CreatedAt, job.Backbone,
            string.IsNullOrEmpty(source) ? null : source, settings, job.TrainImages, job.ValImages, job.TestImages,
            RunEvaluation.FromJson(job.EvaluationJson), ModelSelection.FromJson(job.LeaderboardJson)));
    }

    private async Task<TrainingJob> RequireModelAsync(TransferHubDbContext db, string userId, int jobId, CancellationToken cancellationToken)
    {
        var job = await new TeamAccess(db, userId).Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken)
            ?? throw new NotFoundException("Run");
        if (job.Kind == JobKind.Ensemble) throw new RuleViolationException("An ensemble has no single model; export its members' models.");
        if (!models.HasModelOf(job))
            throw new RuleViolationException($"Run #{jobId} has no stored model ({JobService.Describe(job.Status)}).");
        return job;
    }
}
