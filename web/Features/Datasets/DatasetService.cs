using TransferHub.Imaging;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Viewer;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Datasets;

public sealed record DatasetSummary(int Id, int ProjectId, string Name, int Images, int Classes, bool TestSplitFrozen, DateTime CreatedAt);

/// <summary>Images of one class in each split.</summary>
public sealed record ClassCount(int ClassId, string Name, int Ordinal, int Train, int Val, int Test, int Unassigned)
{
    public int Total => Train + Val + Test + Unassigned;
}

public sealed record DatasetOverview(DatasetSummary Dataset, int TeamId, string ProjectName, TeamRole MyRole, IReadOnlyList<ClassCount> Classes)
{
    public bool CanEdit => MyRole.Allows(TeamPermission.EditContent);
}

/// <summary>One gallery tile: an image with its label and split.</summary>
public sealed record ImageTile(long Id, string Sha256, int? ClassId, string? ClassName, DatasetSplit Split, string OriginalName, int Width, int Height);

/// <summary>One page of a dataset's images and how many match the filter in all.</summary>
public sealed record ImagePage(IReadOnlyList<ImageTile> Items, int Total, int Page, int PageSize)
{
    public int Pages => Math.Max(1, (Total + PageSize - 1) / PageSize);
}

/// <summary>Images whose shorter side is at least <see cref="From"/> pixels and below <see cref="Below"/> (null: no upper bound).</summary>
public sealed record SizeBucket(int From, int? Below, int Images)
{
    public string Label => Below is { } below ? From == 0 ? $"< {below} px" : $"{From}–{below - 1} px" : $"≥ {From} px";
}

/// <summary>Smallest, median and largest value of one dimension (pixels).</summary>
public sealed record SizeRange(int Min, double Median, int Max);

/// <summary>How large a dataset's images are: counts by shorter side, and width and height ranges.</summary>
public sealed record ImageSizeStats(int Images, IReadOnlyList<SizeBucket> Buckets, SizeRange? Width, SizeRange? Height)
{
    /// <summary>The usual model input (ImageNet-pretrained backbones): a shorter side below it means upscaling.</summary>
    public const int TypicalInput = Contracts.Jobs.JobDefaults.ImageSize;

    /// <summary>Bucket edges (shorter side, pixels); <see cref="TypicalInput"/> is one of them.</summary>
    public static readonly int[] Edges = [64, 128, TypicalInput, 512, 1024];

    /// <summary>Images whose shorter side is below <see cref="TypicalInput"/>: training upscales them.</summary>
    public int BelowInput => Buckets.Where(b => b.Below <= TypicalInput).Sum(b => b.Images);

    /// <summary>Smallest, median and largest shorter side (pixels): what a square input is compared with (a run's
    /// training doctor: upscaled images). Null when there are no images.</summary>
    public SizeRange? ShorterSide { get; init; }

    /// <summary>The statistics of images given as counts per distinct width × height (pixels): buckets by shorter side
    /// (<see cref="Edges"/>), and min/median/max of width, height and shorter side. Used by the dataset page (the whole
    /// dataset) and by a run's data facts (the images it was launched with), so both count alike.</summary>
    public static ImageSizeStats Of(IReadOnlyCollection<(int Width, int Height, int Count)> sizes)
    {
        var buckets = Enumerable.Range(0, Edges.Length + 1).Select(b =>
        {
            int from = b == 0 ? 0 : Edges[b - 1], below = b < Edges.Length ? Edges[b] : int.MaxValue;
            return new SizeBucket(from, b < Edges.Length ? below : null,
                sizes.Where(s => Math.Min(s.Width, s.Height) is var side && side >= from && side < below).Sum(s => s.Count));
        }).ToList();
        var total = sizes.Sum(s => s.Count);
        if (total == 0) return new ImageSizeStats(0, buckets, null, null);
        return new ImageSizeStats(total, buckets, Range([.. sizes.Select(s => (s.Width, s.Count))], total),
            Range([.. sizes.Select(s => (s.Height, s.Count))], total))
        {
            ShorterSide = Range([.. sizes.Select(s => (Math.Min(s.Width, s.Height), s.Count))], total),
        };
    }

    /// <summary>Min, median (the mean of the two middle values for an even count) and max of values given with
    /// how often each occurs.</summary>
    private static SizeRange Range(List<(int Value, int Count)> counted, int total)
    {
        var sorted = counted.GroupBy(c => c.Value).Select(g => (Value: g.Key, Count: g.Sum(c => c.Count))).OrderBy(c => c.Value).ToList();
        int At(int index) // the index-th value (0-based) in sorted order
        {
            foreach (var (value, count) in sorted)
                if ((index -= count) < 0) return value;
            throw new ArgumentOutOfRangeException(nameof(index));
        }
        return new SizeRange(sorted[0].Value, (At((total - 1) / 2) + At(total / 2)) / 2.0, sorted[^1].Value);
    }
}

/// <summary>How splits are named to users.</summary>
public static class SplitNames
{
    public static string Of(DatasetSplit split) => split switch
    {
        DatasetSplit.Train => "train",
        DatasetSplit.Val => "validation",
        DatasetSplit.Test => "test",
        _ => "no split",
    };
}

/// <summary>Datasets of the caller's projects (<c>userId</c> is always the signed-in caller). Renaming and deleting
/// are in DatasetService.Removal.cs.</summary>
public sealed partial class DatasetService(IDbContextFactory<TransferHubDbContext> dbFactory, TimeProvider clock, DatasetEvents events, ClientSession session)
{
    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(string userId, int projectId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await new TeamAccess(db, userId).Datasets.Where(d => d.ProjectId == projectId)
            .OrderBy(d => d.Name)
            .Select(d => new DatasetSummary(d.Id, d.ProjectId, d.Name, d.Images.Count, d.Classes.Count, d.TestSplitFrozen, d.CreatedAt))
            .ToListAsync(cancellationToken);
    }

    /// <summary>The dataset with its per-class, per-split counts, or null when the caller cannot see it.</summary>
    public async Task<DatasetOverview?> GetAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var dataset = await access.Datasets.Where(d => d.Id == datasetId)
            .Select(d => new { Summary = new DatasetSummary(d.Id, d.ProjectId, d.Name, d.Images.Count, d.Classes.Count, d.TestSplitFrozen, d.CreatedAt), d.Project!.TeamId, ProjectName = d.Project.Name })
            .FirstOrDefaultAsync(cancellationToken);
        if (dataset is null) return null;
        var role = await access.RoleInAsync(dataset.TeamId, cancellationToken) ?? throw new NotFoundException("Dataset");
        var counts = await db.DatasetImages.Where(i => i.DatasetId == datasetId && i.ClassId != null)
            .GroupBy(i => new { i.ClassId, i.Split }).Select(g => new { g.Key.ClassId, g.Key.Split, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).ToListAsync(cancellationToken);
        int Count(int classId, DatasetSplit split) => counts.Where(c => c.ClassId == classId && c.Split == split).Sum(c => c.Count);
        return new DatasetOverview(dataset.Summary, dataset.TeamId, dataset.ProjectName, role,
            [.. classes.Select(c => new ClassCount(c.Id, c.Name, c.Ordinal, Count(c.Id, DatasetSplit.Train), Count(c.Id, DatasetSplit.Val),
                Count(c.Id, DatasetSplit.Test), Count(c.Id, DatasetSplit.Unassigned)))]);
    }

    public async Task<int> CreateAsync(string userId, int projectId, string name, CancellationToken cancellationToken = default)
    {
        var datasetName = Names.Require(name, Dataset.NameMaxLength, "A dataset");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireProjectAsync(projectId, TeamPermission.EditContent, cancellationToken);
        await EnsureUniqueAsync(db, projectId, datasetName, exceptId: null, cancellationToken);
        var dataset = new Dataset { ProjectId = projectId, Name = datasetName, CreatedAt = clock.GetUtcNow().UtcDateTime };
        db.Datasets.Add(dataset);
        await db.SaveChangesAsync(cancellationToken);
        return dataset.Id;
    }

    public const int MaxPageSize = 200;

    /// <summary>One page (1-based) of the dataset's images, oldest first, optionally of one class and one split.
    /// Filters, counts and pages in the query, so only the page's rows are read. Empty when the caller cannot see
    /// the dataset. Fast at 50,000 images (docs/benchmarks.md): access is checked once rather than per row, and the
    /// page is found by ordering ids alone (which an index holds) before the page's 48 rows are read by id; ordering
    /// whole rows made SQLite sort every row of the dataset for each page.</summary>
    public async Task<ImagePage> PageImagesAsync(string userId, int datasetId, int? classId, DatasetSplit? split, int page, int pageSize,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, MaxPageSize);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
            return new ImagePage([], 0, page, pageSize);
        var images = db.DatasetImages.Where(i => i.DatasetId == datasetId);
        if (classId is { } c)
            images = images.Where(i => i.ClassId == c);
        if (split is { } s)
            images = images.Where(i => i.Split == s);
        var total = await images.CountAsync(cancellationToken);
        var pageIds = images.OrderBy(i => i.Id).Skip((page - 1) * pageSize).Take(pageSize).Select(i => i.Id);
        var items = await db.DatasetImages.Where(i => pageIds.Contains(i.Id)).OrderBy(i => i.Id)
            .Select(i => new ImageTile(i.Id, i.Sha256, i.ClassId, i.Class!.Name, i.Split, i.OriginalName, i.Width, i.Height))
            .ToListAsync(cancellationToken);
        return new ImagePage(items, total, page, pageSize);
    }

    /// <summary>One image with its current label and split, or null when the caller cannot see it (or it was deleted).</summary>
    public async Task<ImageTile?> GetImageAsync(string userId, int datasetId, long imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await new TeamAccess(db, userId).DatasetImages.Where(i => i.Id == imageId && i.DatasetId == datasetId)
            .Select(i => new ImageTile(i.Id, i.Sha256, i.ClassId, i.Class!.Name, i.Split, i.OriginalName, i.Width, i.Height))
            .FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>What the image viewer needs of a dataset: whether the caller may change it, whether its test split is
    /// frozen (relabelling a test image then warns) and its classes in order (digit keys pick them). Null when the
    /// caller cannot see the dataset (the viewer then only shows images).</summary>
    public async Task<ViewerContext?> ViewerContextAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var dataset = await access.Datasets.Where(d => d.Id == datasetId).Select(d => new { d.TestSplitFrozen, d.Project!.TeamId })
            .FirstOrDefaultAsync(cancellationToken);
        if (dataset is null) return null;
        var role = await access.RoleInAsync(dataset.TeamId, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal)
            .Select(c => new ViewerClass(c.Id, c.Name)).ToListAsync(cancellationToken);
        return new ViewerContext(role?.Allows(TeamPermission.EditContent) == true, dataset.TestSplitFrozen, classes);
    }

    /// <summary>How many of these images are in the test split (0 when the caller cannot see the dataset): the gallery
    /// warns before relabelling images of a frozen test split.</summary>
    public async Task<int> CountInTestSplitAsync(string userId, int datasetId, IReadOnlyCollection<long> imageIds, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await new TeamAccess(db, userId).DatasetImages
            .CountAsync(i => i.DatasetId == datasetId && i.Split == DatasetSplit.Test && imageIds.Contains(i.Id), cancellationToken);
    }

    /// <summary>The ids of every image matching the gallery's filter, in gallery order (oldest first): what the image
    /// viewer steps through and "select all" selects. Ids only, read from the index (50,000 of them are 400 KB). Empty
    /// when the caller cannot see the dataset.</summary>
    public async Task<IReadOnlyList<long>> ImageIdsAsync(string userId, int datasetId, int? classId, DatasetSplit? split,
        CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken))
            return [];
        var images = db.DatasetImages.Where(i => i.DatasetId == datasetId);
        if (classId is { } c)
            images = images.Where(i => i.ClassId == c);
        if (split is { } s)
            images = images.Where(i => i.Split == s);
        return await images.OrderBy(i => i.Id).Select(i => i.Id).ToListAsync(cancellationToken);
    }

    /// <summary>The dataset's image sizes (from the stored width and height, never the files), or null when the caller
    /// cannot see it. One query: the database counts the images of each distinct width × height (a few dozen rows
    /// for most datasets; at worst one per image, never the image rows themselves), and buckets, ranges and medians
    /// are read off those counts. (Three queries, two of them sorting every row for a median, took 4× as long.)</summary>
    public async Task<ImageSizeStats?> GetSizesAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken)) return null;
        var sizes = await db.DatasetImages.Where(i => i.DatasetId == datasetId)
            .GroupBy(i => new { i.Width, i.Height }).Select(g => new { g.Key.Width, g.Key.Height, Count = g.Count() })
            .ToListAsync(cancellationToken);
        return ImageSizeStats.Of([.. sizes.Select(s => (s.Width, s.Height, s.Count))]);
    }

    /// <summary>Whether the caller can see the dataset and it holds an image with this content hash, or a run of it that the
    /// caller can see was launched with that image.</summary>
    public async Task<bool> HasImageAsync(string userId, int datasetId, string sha256, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        if (await access.DatasetImages.AnyAsync(i => i.DatasetId == datasetId && i.Sha256 == sha256, cancellationToken))
            return true;
        // An image deleted from the dataset stays viewable where a run the caller can see was launched with it.
        if (!ContentHash.IsSha256(sha256))
            return false;
        var quoted = $"\"{sha256}\"";
        return await access.Jobs.AnyAsync(j => j.DatasetId == datasetId && j.ImageNamesJson != null && j.ImageNamesJson.Contains(quoted),
            cancellationToken);
    }
}
