using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Augmentation;

/// <summary>The augmentation controls, exactly the settings a job takes (JobSpec.augmentation, mapped by the worker gateway).</summary>
public sealed class AugmentationForm
{
    public bool RandomCrop { get; set; } = true;
    public double CropScaleMin { get; set; } = 0.6;
    public bool HorizontalFlip { get; set; } = true;
    public bool VerticalFlip { get; set; }
    public double RotationDegrees { get; set; } = 10;
    public double Brightness { get; set; } = 0.2;
    public double Contrast { get; set; } = 0.2;
    public double Saturation { get; set; } = 0.2;
    public double GrayscaleProbability { get; set; }
    public int ImageSize { get; set; } = Contracts.Jobs.JobDefaults.ImageSize;

    /// <summary>These ranges as the shared job rules check them (<see cref="Contracts.Jobs.JobRules"/>).</summary>
    public Contracts.Jobs.AugmentationValues ToValues() => new(RandomCrop ? CropScaleMin : 0, RandomCrop ? 1 : 0, RotationDegrees,
        Brightness, Contrast, Saturation, GrayscaleProbability);
}

/// <summary>Augmented variants of one image, or why there are none.</summary>
public sealed record PreviewResult(IReadOnlyList<byte[]> Pngs, string? Problem, string? WorkerName);

/// <summary>Asks an online worker to render augmented variants of a dataset image with THE training pipeline.</summary>
public sealed class AugmentationPreviewService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    ImageStore store,
    WorkerGateway gateway)
{
    /// <summary>Images of a dataset to pick from (visible to the caller), most recent first.</summary>
    public async Task<IReadOnlyList<(string Sha256, string Name, string? ClassName)>> CandidatesAsync(string userId, int datasetId, int take = 60,
        CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await new TeamAccess(db, userId).DatasetImages.Where(i => i.DatasetId == datasetId)
            .OrderByDescending(i => i.Id).Take(take)
            .Select(i => new { i.Sha256, i.OriginalName, ClassName = i.Class == null ? null : i.Class.Name })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Sha256, r.OriginalName, r.ClassName))];
    }

    public async Task<PreviewResult> PreviewAsync(string userId, int datasetId, string sha256, AugmentationForm form, int count, long seed,
        CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var visible = await new TeamAccess(db, userId).DatasetImages.AnyAsync(i => i.DatasetId == datasetId && i.Sha256 == sha256, cancellationToken);
        if (!visible) throw new NotFoundException("Image");

        var workers = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Status == WorkerStatus.Online).ThenByDescending(w => w.IsLocal)
            .ToListAsync(cancellationToken);
        if (workers.Count == 0)
            return new PreviewResult([], "No worker is registered or enabled: a site admin must register one (Workers page) before previews can be made.", null);

        var image = await store.ReadImageAsync(sha256, cancellationToken);
        try
        {
            var (pngs, worker) = await WorkerGateway.FirstAnsweringAsync(workers, w => gateway.PreviewAsync(w, image, form, count, seed, centerCrop: false, cancellationToken));
            return new PreviewResult(pngs, null, worker.Name);
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.InvalidInput)
        {
            return new PreviewResult([], $"The settings were refused: {e.Detail}", e.WorkerName);
        }
        catch (NoWorkerAnsweredException e)
        {
            return new PreviewResult([], $"No worker could make the preview ({string.Join("; ", e.Problems)}). Start the worker, or ask a site admin to check it on the Workers page.", null);
        }
    }
}
