using Google.Protobuf;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Storage;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Augmentation;

/// <summary>The augmentation controls, exactly the settings a job takes (JobSpec.augmentation).</summary>
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
    public int ImageSize { get; set; } = 224;

    /// <summary>These ranges as the shared job rules check them (<see cref="Contracts.Jobs.JobRules"/>).</summary>
    public Contracts.Jobs.AugmentationValues ToValues() => new(RandomCrop ? CropScaleMin : 0, RandomCrop ? 1 : 0, RotationDegrees,
        Brightness, Contrast, Saturation, GrayscaleProbability);

    public AugmentationSettings ToSettings() => new()
    {
        CropScaleMin = RandomCrop ? (float)CropScaleMin : 0,
        CropScaleMax = RandomCrop ? 1 : 0,
        HorizontalFlip = HorizontalFlip,
        VerticalFlip = VerticalFlip,
        RotationDegrees = (float)RotationDegrees,
        Brightness = (float)Brightness,
        Contrast = (float)Contrast,
        Saturation = (float)Saturation,
        GrayscaleProbability = (float)GrayscaleProbability,
    };
}

/// <summary>Augmented variants of one image, or why there are none.</summary>
public sealed record PreviewResult(IReadOnlyList<byte[]> Pngs, string? Problem, string? WorkerName);

/// <summary>Asks an online worker to render augmented variants of a dataset image with THE training pipeline.</summary>
public sealed class AugmentationPreviewService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    ImageStore store,
    WorkerClientFactory clients,
    WorkerRegistryService registry)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

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

        var image = ByteString.CopyFrom(await store.ReadImageAsync(sha256, cancellationToken));
        var problems = new List<string>();
        foreach (var worker in workers)
        {
            try
            {
                var response = await clients.Client(worker.Address, registry.TokenOf(worker)).PreviewAugmentationsAsync(new PreviewAugmentationsRequest
                {
                    Image = image,
                    Augmentation = form.ToSettings(),
                    Count = count,
                    Seed = seed,
                    ImageSize = form.ImageSize,
                }, deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellationToken);
                return new PreviewResult([.. response.Png.Select(p => p.ToByteArray())], null, worker.Name);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                return new PreviewResult([], $"The settings were refused: {e.Status.Detail}", worker.Name);
            }
            catch (RpcException e)
            {
                problems.Add($"{worker.Name}: {(e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded ? "not reachable" : e.Status.Detail)}");
            }
        }
        return new PreviewResult([], $"No worker could make the preview ({string.Join("; ", problems)}). Start the worker, or ask a site admin to check it on the Workers page.", null);
    }
}
