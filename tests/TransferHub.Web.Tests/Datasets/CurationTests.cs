using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class CurationTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope();
    private readonly ServiceScope _services = new(app);

    public void Dispose()
    {
        _services.Dispose();
        _scope.Dispose();
    }

    private CurationService Curation => _scope.ServiceProvider.GetRequiredService<CurationService>();

    /// <summary>3 bags in train, 3 sandals in test.</summary>
    private async Task<(TeamScenario S, int DatasetId, List<DatasetImage> Images)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Mixed");
        var stream = TestFiles.Zip(TestFiles.FashionEntries("bag", 3, "train/bag").Concat(TestFiles.FashionEntries("sandal", 3, "test/sandal")));
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, stream);
        return (s, datasetId, await ImagesAsync(datasetId));
    }

    private async Task<List<DatasetImage>> ImagesAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetImages.Include(i => i.Class).Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id).ToListAsync();
    }

    [Fact]
    public async Task SelectedImagesAreRelabelledMovedAndDeletedTogether()
    {
        var (s, datasetId, images) = await DatasetAsync();
        var bags = images.Where(i => i.Class!.Name == "bag").Select(i => i.Id).ToList();
        var sandalClass = images.First(i => i.Class!.Name == "sandal").ClassId!.Value;

        Assert.Equal(2, await Curation.RelabelAsync(s.EditorId, datasetId, bags[..2], sandalClass));
        Assert.Equal(2, await Curation.MoveToSplitAsync(s.EditorId, datasetId, bags[..2], DatasetSplit.Val));
        Assert.Equal(1, (await Curation.DeleteAsync(s.EditorId, datasetId, [bags[2]])).Images);

        var after = await ImagesAsync(datasetId);
        Assert.Equal(5, after.Count);
        Assert.All(after.Where(i => bags[..2].Contains(i.Id)), i => Assert.Equal(("sandal", DatasetSplit.Val), (i.Class!.Name, i.Split)));
    }

    [Fact]
    public async Task AFrozenTestSplitNeitherGainsNorLosesImages()
    {
        var (s, datasetId, images) = await DatasetAsync();
        await _scope.ServiceProvider.GetRequiredService<Web.Features.Datasets.Splits.DatasetSplitService>().SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
        var test = images.Where(i => i.Split == DatasetSplit.Test).Select(i => i.Id).ToList();
        var train = images.Where(i => i.Split == DatasetSplit.Train).Select(i => i.Id).ToList();

        await Assert.ThrowsAsync<RuleViolationException>(() => Curation.MoveToSplitAsync(s.EditorId, datasetId, [train[0]], DatasetSplit.Test));
        await Assert.ThrowsAsync<RuleViolationException>(() => Curation.MoveToSplitAsync(s.EditorId, datasetId, [test[0]], DatasetSplit.Train));
        await Assert.ThrowsAsync<RuleViolationException>(() => Curation.DeleteAsync(s.EditorId, datasetId, [test[0]]));
        Assert.Equal(1, await Curation.MoveToSplitAsync(s.EditorId, datasetId, [train[0]], DatasetSplit.Val)); // outside test: fine
        Assert.Equal(3, (await ImagesAsync(datasetId)).Count(i => i.Split == DatasetSplit.Test));
    }

    [Fact]
    public async Task ImagesOfAnotherDatasetAndRolesWithoutRightsAreRefused()
    {
        var (s, datasetId, images) = await DatasetAsync();
        var other = await DatasetAsync();
        var ids = images.Select(i => i.Id).Take(2).ToList();

        await Assert.ThrowsAsync<NotFoundException>(() => Curation.DeleteAsync(s.EditorId, datasetId, [ids[0], other.Images[0].Id]));
        await Assert.ThrowsAsync<ForbiddenException>(() => Curation.DeleteAsync(s.ViewerId, datasetId, ids));
        await Assert.ThrowsAsync<NotFoundException>(() => Curation.DeleteAsync(s.OutsiderId, datasetId, ids));
        await Assert.ThrowsAsync<NotFoundException>(() => Curation.RelabelAsync(s.EditorId, datasetId, ids, other.Images[0].ClassId!.Value));
        Assert.Equal(6, (await ImagesAsync(datasetId)).Count);
        Assert.Equal(6, (await ImagesAsync(other.DatasetId)).Count);
    }
}
