using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>The dataset's image size statistics, computed in the database from the stored width and height.</summary>
public sealed class ImageSizeStatsTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    /// <summary>Image rows of the given sizes (no files: the statistics read only the columns).</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetOfSizesAsync(params (int W, int H)[] sizes)
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Sizes");
        await using var db = await app.DbAsync();
        db.DatasetImages.AddRange(sizes.Select((size, n) => new DatasetImage
        {
            DatasetId = datasetId, Sha256 = $"{n:x64}", OriginalName = $"{n}.png", Width = size.W, Height = size.H, AddedAt = DateTime.UtcNow,
        }));
        await db.SaveChangesAsync();
        return (s, datasetId);
    }

    [Fact]
    public async Task ImagesAreCountedByShorterSideWithMinMedianAndMaxOfEachDimension()
    {
        var (s, datasetId) = await DatasetOfSizesAsync((20, 30), (100, 64), (127, 500), (128, 128), (300, 223), (224, 224), (640, 480),
            (512, 2000), (1024, 1024), (4000, 3000));

        var sizes = (await _services.Datasets.GetSizesAsync(s.ViewerId, datasetId))!;

        Assert.Equal(10, sizes.Images);
        Assert.Equal([(0, 64, 1), (64, 128, 2), (128, 224, 2), (224, 512, 2), (512, 1024, 1), (1024, null, 2)],
            sizes.Buckets.Select(b => (b.From, b.Below, b.Images)));
        Assert.Equal(new SizeRange(20, 262, 4000), sizes.Width); // (224 + 300) / 2
        Assert.Equal(new SizeRange(30, 352, 3000), sizes.Height); // (224 + 480) / 2
        Assert.Equal(5, sizes.BelowInput);
    }

    [Fact]
    public async Task AnOddCountHasTheMiddleValueAsMedian()
    {
        var (s, datasetId) = await DatasetOfSizesAsync((50, 40), (60, 900), (1000, 70));

        var sizes = (await _services.Datasets.GetSizesAsync(s.EditorId, datasetId))!;

        Assert.Equal(new SizeRange(50, 60, 1000), sizes.Width);
        Assert.Equal(new SizeRange(40, 70, 900), sizes.Height);
        Assert.Equal(3, sizes.BelowInput);
    }

    [Fact]
    public async Task ImportedImagesAreMeasuredAndAnEmptyOrInvisibleDatasetHasNoNumbers()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Fashion");
        var empty = (await _services.Datasets.GetSizesAsync(s.EditorId, datasetId))!;
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(TestFiles.FashionEntries("bag", 3, "bag")));

        var sizes = (await _services.Datasets.GetSizesAsync(s.EditorId, datasetId))!;

        Assert.Equal((0, null, null), (empty.Images, empty.Width, empty.Height));
        Assert.All(empty.Buckets, b => Assert.Equal(0, b.Images));
        Assert.Equal(3, sizes.Buckets[0].Images); // Fashion-MNIST is 28×28
        Assert.Equal(new SizeRange(28, 28, 28), sizes.Width);
        Assert.Null(await _services.Datasets.GetSizesAsync(s.OutsiderId, datasetId));
    }
}
