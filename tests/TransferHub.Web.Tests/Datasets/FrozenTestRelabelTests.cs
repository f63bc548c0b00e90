using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Datasets.Viewer;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>Relabelling images of a frozen test split (issue 14 item 11): the gallery and viewer warn with what it means,
/// and the relabel is then allowed.</summary>
public sealed class FrozenTestRelabelTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task TestImagesOfAFrozenSplitAreCountedForTheWarningAndCanThenBeRelabelled()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Frozen");
        var entries = new[] { "bag", "sandal" }.SelectMany(c => TestFiles.FashionEntries(c, 4, c)
            .Select((f, i) => ((i == 0 ? "test/" : "train/") + f.Path, f.Data)));
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries));
        await _services.Get<DatasetSplitService>().SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
        List<DatasetImage> images;
        await using (var db = await app.DbAsync())
            images = await db.DatasetImages.Where(i => i.DatasetId == datasetId).ToListAsync();
        var test = images.Where(i => i.Split == DatasetSplit.Test).Select(i => i.Id).ToList();
        var selected = test.Append(images.First(i => i.Split == DatasetSplit.Train).Id).ToList();

        Assert.Equal(2, await _services.Datasets.CountInTestSplitAsync(s.EditorId, datasetId, selected));
        Assert.Equal(0, await _services.Datasets.CountInTestSplitAsync(s.OutsiderId, datasetId, selected));
        Assert.Equal("2 of the 3 images are in the test split, which is frozen so that runs stay comparable. Relabelling changes the test set: " +
            "runs evaluated before keep the old label, later runs see the new one. Relabel as sandal anyway?", ImageViewer.FrozenTestWarning(2, 3, "sandal"));
        Assert.StartsWith("This image is in the test split", ImageViewer.FrozenTestWarning(1, 1, "bag"));

        // Warned and confirmed, the relabel goes through: the test split keeps its images, with the new label.
        int sandal;
        await using (var db = await app.DbAsync())
            sandal = await db.DatasetClasses.Where(c => c.DatasetId == datasetId && c.Name == "sandal").Select(c => c.Id).SingleAsync();
        Assert.Equal(2, await _services.Get<CurationService>().RelabelAsync(s.EditorId, datasetId, test, sandal));
        await using var after = await app.DbAsync();
        Assert.All(await after.DatasetImages.Where(i => test.Contains(i.Id)).ToListAsync(), i => Assert.Equal((DatasetSplit.Test, (int?)sandal), (i.Split, i.ClassId)));
    }
}
