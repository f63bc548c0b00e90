using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Models;

/// <summary>
/// A finished run's model as files a team takes away: the model zip with its card inside, the ONNX export (made by a
/// worker from the stored model — or, for an ensemble, from its members' — the first time it is asked for, then kept
/// beside the model in <see cref="ModelStore"/>) and the model card. Authorized through
/// <see cref="TeamAccess"/> like every team-owned object: a run the caller cannot see is "not found".
/// </summary>
public sealed class ModelFilesService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerGateway workers,
    WorkerMonitor monitor,
    ModelStore models)
{
    /// <summary>The most members an ensemble's ONNX export takes (the worker's limit, worker.proto ExportOnnxRequest).</summary>
    public const int MaxOnnxEnsembleMembers = 16;

    /// <summary>The run's model as ONNX: opset 17, input <c>float32 [N,3,H,W]</c> RGB 0–255 resized as the run resized,
    /// output probabilities <c>[N, classes]</c>; metadata_props carry class names, preprocessing, backbone and the run's
    /// test metrics with their split. An ensemble's is one graph whose probabilities are the mean of its members'
    /// (they must resize images alike), its metadata listing the members.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a run.</exception>
    /// <exception cref="RuleViolationException">The run (or an ensemble's member) has no stored model, an ensemble's
    /// members cannot share one input, or no worker could export it.</exception>
    public async Task<Stream> OpenOnnxAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken)
            ?? throw new NotFoundException("Run");
        if (job.Kind != JobKind.Ensemble && !models.HasModelOf(job))
            throw new RuleViolationException($"Run #{job.Number} has no stored model ({JobService.Describe(job.Status)}).");
        if (models.ContainsOnnx(jobId)) return models.OpenOnnx(jobId);
        var members = job.Kind == JobKind.Ensemble ? await EnsembleMembersAsync(db, userId, job, cancellationToken) : null;
        var preferred = members?.First().WorkerId ?? job.WorkerId;
        var enabled = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Id == preferred).ThenByDescending(w => w.IsLocal)
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
        if (members is not null) metadata["member_run_ids"] = string.Join(",", members.Select(m => m.Id.ToString(c)));
        try
        {
            await WorkerGateway.FirstAnsweringAsync(enabled, worker => models.SaveOnnxAsync(jobId, stream => members is null
                ? workers.ExportOnnxAsync(worker, job.ModelId!, metadata, () => models.OpenRead(jobId), stream, cancellationToken)
                : workers.ExportEnsembleOnnxAsync(worker, $"run-{jobId}-ensemble",
                    [.. members.Select(m => (m.ModelId!, (Func<Stream>)(() => models.OpenRead(m.Id))))], metadata, stream, cancellationToken)));
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

    /// <summary>The run's TorchSharp model zip as stored (<c>model.json</c> + <c>weights.safetensors</c>) plus
    /// <see cref="ModelCard.JsonFileName"/>: the model card as JSON, the same content as <c>model-card.md</c>. The
    /// returned stream reads a temporary copy, deleted when it is closed.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a run.</exception>
    /// <exception cref="RuleViolationException">The run has no stored model (not completed, or an ensemble).</exception>
    public async Task<Stream> OpenModelZipAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await CardRowAsync(db, userId, jobId, cancellationToken);
        var job = row.Job;
        if (job.Kind == JobKind.Ensemble)
            throw new RuleViolationException("An ensemble has no single model; download its members' models, or export the ensemble as ONNX.");
        if (!models.HasModelOf(job))
            throw new RuleViolationException($"Run #{job.Number} has no stored model ({JobService.Describe(job.Status)}).");
        var card = job.EvaluationJson is null ? null : ModelCard.ToJson(await CardFactsAsync(db, userId, row, cancellationToken));
        var temp = Path.Combine(Path.GetTempPath(), $"transferhub-model-{Guid.NewGuid():N}.zip");
        try
        {
            await using (var source = models.OpenRead(jobId))
            await using (var copy = File.Create(temp))
                await source.CopyToAsync(copy, cancellationToken);
            if (card is not null)
            {
                await using var file = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite);
                using var zip = new ZipArchive(file, ZipArchiveMode.Update);
                zip.GetEntry(ModelCard.JsonFileName)?.Delete();
                await using var entry = await zip.CreateEntry(ModelCard.JsonFileName, CompressionLevel.Optimal).OpenAsync(cancellationToken);
                await entry.WriteAsync(Encoding.UTF8.GetBytes(card), cancellationToken);
            }
            return new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The run's model card as Markdown (<see cref="ModelCard"/>); any run with an evaluation has one.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a run.</exception>
    /// <exception cref="RuleViolationException">The run has no evaluation yet.</exception>
    public async Task<string> ModelCardAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await CardRowAsync(db, userId, jobId, cancellationToken);
        if (row.Job.EvaluationJson is null)
            throw new RuleViolationException(JobService.NoEvaluation(row.Job) + ", so no model card.");
        return ModelCard.Markdown(await CardFactsAsync(db, userId, row, cancellationToken));
    }

    private sealed record CardRow(TrainingJob Job, string Dataset, string Project);

    private static async Task<CardRow> CardRowAsync(TransferHubDbContext db, string userId, int jobId, CancellationToken cancellationToken) =>
        await new TeamAccess(db, userId).Jobs.Where(j => j.Id == jobId)
            .Select(j => new CardRow(j, j.Dataset!.Name, j.Dataset.Project!.Name))
            .AsNoTracking().FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException("Run");

    /// <summary>What the card says of a run with an evaluation; an ensemble's backbone names its members' ("a + b"), its
    /// weights source joins theirs, its settings list each member (run, mode, backbone, accuracy on its split) and its
    /// image counts are its first member's training data (an ensemble itself trains on nothing).</summary>
    private async Task<ModelCardFacts> CardFactsAsync(TransferHubDbContext db, string userId, CardRow row, CancellationToken cancellationToken)
    {
        var job = row.Job;
        var (train, val) = (job.TrainImages, job.ValImages);
        IReadOnlyList<KeyValuePair<string, string>> settings;
        if (job.Kind == JobKind.Ensemble)
        {
            var ids = (job.EnsembleOf ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            var members = await new TeamAccess(db, userId).Jobs.Where(j => ids.Contains(j.Id)).AsNoTracking().ToListAsync(cancellationToken);
            var ordered = ids.Select(id => members.FirstOrDefault(m => m.Id == id)).ToList();
            settings = [.. ordered.Select((m, i) => new KeyValuePair<string, string>($"Member {i + 1}", m is null
                ? "a run no longer visible"
                : FormattableString.Invariant($"run #{m.Number}: {JobSettings.ModeText(m.Mode)}, {m.Backbone}, seed {m.Seed}") +
                  (m.Accuracy is { } a ? FormattableString.Invariant($", accuracy {a:P1} on its {m.EvaluatedSplit ?? "evaluated"} split") : "")))];
            if (ordered.FirstOrDefault() is { } first) (train, val) = (first.TrainImages, first.ValImages);
        }
        else
            settings = JobService.Settings(job).Describe(job.Seed);
        var offered = monitor.Described.Values.SelectMany(d => d.Backbones).ToList();
        var backbones = job.Backbone.Split(" + ").Select(name => offered.FirstOrDefault(b => b.Name == name)).ToList();
        var sources = backbones.Select(b => b?.WeightsSource).Where(s => !string.IsNullOrEmpty(s)).Distinct().ToList();
        var licences = backbones.Select(b => b?.WeightsLicence).Where(s => !string.IsNullOrEmpty(s)).Distinct().ToList();
        var epochs = await db.JobEpochs.Where(e => e.JobId == job.Id && e.Attempt == job.Attempt).OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy, e.Seconds, e.ImagesPerSecond, e.IsBest, e.LearningRate))
            .ToListAsync(cancellationToken);
        return new ModelCardFacts(job.Id, row.Project, row.Dataset, job.DatasetVersion, job.CreatedAt, job.Backbone,
            sources.Count == 0 ? null : string.Join("; ", sources), settings, train, val, job.TestImages,
            RunEvaluation.FromJson(job.EvaluationJson!), ModelSelection.FromJson(job.LeaderboardJson))
        {
            Number = job.Number,
            Name = job.Name,
            IsEnsemble = job.Kind == JobKind.Ensemble,
            WeightsLicence = licences.Count == 0 ? null : string.Join("; ", licences),
            Calibration = CalibrationView.Of(job.CalibrationJson, job.TargetPrecision),
            Findings = Jobs.Doctor.RunDoctor.Diagnose(job, epochs, await Jobs.Doctor.RunDoctor.SiblingsAsync(db, [job], cancellationToken)),
        };
    }

    /// <summary>An ensemble's member runs, in its order, each with a stored model, all resizing images alike (one ONNX
    /// input for all; the worker checks classes, size and resize mode again from the models themselves).</summary>
    /// <exception cref="RuleViolationException">a member is gone or has no stored model, too many members, or they resize differently</exception>
    private async Task<IReadOnlyList<TrainingJob>> EnsembleMembersAsync(TransferHubDbContext db, string userId, TrainingJob ensemble,
        CancellationToken cancellationToken)
    {
        var ids = (ensemble.EnsembleOf ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => int.Parse(id, CultureInfo.InvariantCulture)).ToList();
        if (ids.Count > MaxOnnxEnsembleMembers)
            throw new RuleViolationException($"An ensemble of {ids.Count} runs is too large for one ONNX graph (at most {MaxOnnxEnsembleMembers}); export its members one by one.");
        var found = await new TeamAccess(db, userId).Jobs.Where(j => ids.Contains(j.Id)).AsNoTracking().ToDictionaryAsync(j => j.Id, cancellationToken);
        var gone = ids.Where(id => !found.ContainsKey(id)).ToList();
        if (gone.Count > 0)
            throw new RuleViolationException(gone.Count == 1
                ? "One of the ensemble's member runs no longer exists, so it cannot be exported as one model."
                : $"{gone.Count} of the ensemble's member runs no longer exist, so it cannot be exported as one model.");
        var members = ids.Select(id => found[id]).ToList();
        var withoutModel = members.Where(m => !models.HasModelOf(m)).ToList();
        if (withoutModel.Count > 0)
            throw new RuleViolationException("The ensemble cannot be exported: " +
                string.Join("; ", withoutModel.Select(m => $"member run #{m.Number} has no stored model ({JobService.Describe(m.Status)})")) + ".");
        var inputs = members.Select(m => (Id: m.Number, Input: Input(JobService.Settings(m)), m.ClassNamesJson)).ToList();
        if (inputs.Select(i => i.Input).Distinct().Count() > 1 || inputs.Select(i => i.ClassNamesJson).Distinct().Count() > 1)
            throw new RuleViolationException("One ONNX graph takes one input, but the ensemble's members differ: " +
                string.Join("; ", inputs.Select(i => $"run #{i.Id}: {i.Input}, classes {i.ClassNamesJson}")) +
                ". Export the members one by one instead.");
        return members;
    }

    private static string Input(JobSettings settings) => $"{settings.ImageSize} px {(settings.CenterCrop ? "centre crop" : "squashed")}";
}
