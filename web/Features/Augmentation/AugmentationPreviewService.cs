using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Augmentation;

/// <summary>Augmented variants of one image, or why there are none.</summary>
public sealed record PreviewResult(IReadOnlyList<byte[]> Pngs, string? Problem, string? WorkerName);

/// <summary>An image of a dataset the preview can show: its content hash, file name and class (null = unlabelled).</summary>
public sealed record PreviewImage(string Sha256, string Name, string? ClassName)
{
    public override string ToString() => ClassName is null ? Name : $"{Name} ({ClassName})";
}

/// <summary>Images whose name or class matches a search, in upload order: at most the requested number, and how many match in all.</summary>
public sealed record ImageMatches(IReadOnlyList<PreviewImage> Images, int Total);

/// <summary>One image and where it stands in its dataset's upload order: <paramref name="Position"/> 1..<paramref name="Total"/>.</summary>
public sealed record ImageAt(PreviewImage Image, int Position, int Total);

/// <summary>Asks an online worker to render augmented variants of a dataset image with THE training pipeline, with the
/// settings a run takes (<see cref="JobSettings.Augmentation"/>, <see cref="JobSettings.ImageSize"/> and
/// <see cref="JobSettings.CenterCrop"/>), and finds the dataset's images to preview (every one reachable, by search or step).</summary>
public sealed class AugmentationPreviewService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    ImageStore store,
    WorkerGateway gateway)
{
    /// <summary>The most matches <see cref="FindImagesAsync"/> returns at once.</summary>
    public const int MaxMatches = 100;

    /// <summary>Images of a dataset the caller can see whose file name or class name contains <paramref name="search"/>
    /// (ignoring case; empty = all), in upload order, at most <paramref name="take"/> (1..<see cref="MaxMatches"/>), with
    /// the number of all matches. A dataset the caller cannot see has none.</summary>
    public async Task<ImageMatches> FindImagesAsync(string userId, int datasetId, string? search, int take = 50,
        CancellationToken cancellationToken = default)
    {
        take = Math.Clamp(take, 1, MaxMatches);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = new TeamAccess(db, userId).DatasetImages.Where(i => i.DatasetId == datasetId);
        if (search?.Trim().ToLowerInvariant() is { Length: > 0 } text)
            query = query.Where(i => i.OriginalName.ToLower().Contains(text) || (i.Class != null && i.Class.Name.ToLower().Contains(text)));
        var total = await query.CountAsync(cancellationToken);
        var rows = await query.OrderBy(i => i.Id).Take(take)
            .Select(i => new PreviewImage(i.Sha256, i.OriginalName, i.Class == null ? null : i.Class.Name))
            .ToListAsync(cancellationToken);
        return new ImageMatches(rows, total);
    }

    /// <summary>The image <paramref name="step"/> places (−1 previous, 0 this one, +1 next, in upload order) from the
    /// image with hash <paramref name="sha256"/> — or the dataset's first image when that is null or not in it — with its
    /// position; null when the step leaves the dataset or it has no images (or the caller cannot see it).</summary>
    public async Task<ImageAt?> ImageAtAsync(string userId, int datasetId, string? sha256, int step = 0,
        CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var images = new TeamAccess(db, userId).DatasetImages.Where(i => i.DatasetId == datasetId);
        var from = sha256 is null ? null : await images.Where(i => i.Sha256 == sha256).OrderBy(i => i.Id).Select(i => (long?)i.Id).FirstOrDefaultAsync(cancellationToken);
        var target = from is not { } id || step == 0 ? (from is { } same ? images.Where(i => i.Id == same) : images.OrderBy(i => i.Id))
            : step > 0 ? images.Where(i => i.Id > id).OrderBy(i => i.Id)
            : images.Where(i => i.Id < id).OrderByDescending(i => i.Id);
        var found = await target.Select(i => new { i.Id, Image = new PreviewImage(i.Sha256, i.OriginalName, i.Class == null ? null : i.Class.Name) })
            .FirstOrDefaultAsync(cancellationToken);
        if (found is null) return null;
        var position = await images.CountAsync(i => i.Id <= found.Id, cancellationToken);
        return new ImageAt(found.Image, position, await images.CountAsync(cancellationToken));
    }

    /// <summary><paramref name="count"/> variants (1..64) of the image, as PNGs of ImageSize² pixels, rendered by a worker's
    /// training pipeline with <paramref name="settings"/>' augmentation, image size and resize mode; variant i with
    /// <paramref name="seed"/> is what training draws for item i. Settings the rules refuse (<see cref="JobRules"/>) come back
    /// as the problem, each named, without asking a worker.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such an image in the dataset.</exception>
    public async Task<PreviewResult> PreviewAsync(string userId, int datasetId, string sha256, JobSettings settings, int count, long seed,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var visible = await new TeamAccess(db, userId).DatasetImages.AnyAsync(i => i.DatasetId == datasetId && i.Sha256 == sha256, cancellationToken);
        if (!visible) throw new NotFoundException("Image");
        var problems = Problems(settings);
        if (problems.Count > 0) return new PreviewResult([], $"Fix the settings first: {string.Join(" ", problems.Select(p => p.Message))}", null);

        var workers = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Status == WorkerStatus.Online).ThenByDescending(w => w.IsLocal)
            .ToListAsync(cancellationToken);
        if (workers.Count == 0)
            return new PreviewResult([], "No worker is registered or enabled: a site admin must register one (Workers page) before previews can be made.", null);

        var image = await store.ReadImageAsync(sha256, cancellationToken);
        try
        {
            var (pngs, worker) = await WorkerGateway.FirstAnsweringAsync(workers, w => gateway.PreviewAsync(w, image, settings.Augmentation,
                settings.ImageSize, settings.CenterCrop, count, seed, cancellationToken));
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

    /// <summary>What a preview of <paramref name="settings"/> needs right: the augmentation ranges and the image size, by the
    /// rules a worker applies (the rest of a run's settings does not change what the preview shows).</summary>
    public static IReadOnlyList<JobProblem> Problems(JobSettings settings) =>
    [
        .. JobRules.Check(settings.ToValues() with { Mode = JobModeKind.FineTune, Augmentation = settings.Augmentation.ToValues() })
            .Where(p => p.Field == "imageSize" || p.Field.StartsWith("augmentation.", StringComparison.Ordinal)),
    ];
}
