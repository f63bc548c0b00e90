using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class DuplicateTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope();
    private readonly ServiceScope _services = new(app);

    public void Dispose()
    {
        _services.Dispose();
        _scope.Dispose();
    }

    private DuplicateService Duplicates => _scope.ServiceProvider.GetRequiredService<DuplicateService>();

    private CurationService Curation => _scope.ServiceProvider.GetRequiredService<CurationService>();

    /// <summary>The cat in train, a smaller re-encoded copy of it in test (a leak), and an unrelated coffee photo.</summary>
    private Task<(TeamScenario S, int DatasetId)> DatasetAsync() => LeakingPets.CreateAsync(app, _services);

    /// <summary>This app has no worker: the search falls back to difference hashes and says so.</summary>
    [Fact]
    public async Task WithoutAWorkerAResizedCopyAcrossSplitsIsFoundByDifferenceHashAndThePanelIsToldWhy()
    {
        var (s, datasetId) = await DatasetAsync();

        var found = await Duplicates.FindAsync(s.ViewerId, datasetId);

        var group = Assert.Single(found.Groups);
        Assert.Equal(["test/cat/chelsea-small.jpg", "train/cat/chelsea.jpg"], group.Images.Select(i => i.OriginalName).Order());
        Assert.True(group.CrossesSplits);
        Assert.False(group.MixedLabels);
        Assert.Equal(DuplicateMethod.DifferenceHash, found.Method);
        Assert.Contains("No worker could compare what the pictures show (No worker is registered or enabled", found.Explanation);
        Assert.Contains("misses cropped and brightened copies", found.Explanation);
        Assert.Equal(3, found.Images);
    }

    [Fact]
    public async Task ImagesMarkedNotDuplicatesAreNotGroupedAgainAndOnlyEditorsMayMarkThem()
    {
        var (s, datasetId) = await DatasetAsync();
        var ids = (await Duplicates.FindAsync(s.EditorId, datasetId)).Groups.Single().Images.Select(i => i.ImageId).ToList();

        await Assert.ThrowsAsync<ForbiddenException>(() => Duplicates.MarkDistinctAsync(s.ViewerId, datasetId, ids));
        await Assert.ThrowsAsync<NotFoundException>(() => Duplicates.MarkDistinctAsync(s.OutsiderId, datasetId, ids));
        await Assert.ThrowsAsync<NotFoundException>(() => Duplicates.MarkDistinctAsync(s.EditorId, datasetId, [ids[0], 999_999]));
        Assert.Contains("at least two", (await Assert.ThrowsAsync<RuleViolationException>(() => Duplicates.MarkDistinctAsync(s.EditorId, datasetId, [ids[0]]))).Message);
        Assert.Equal(1, await Duplicates.MarkDistinctAsync(s.EditorId, datasetId, ids));
        Assert.Equal(0, await Duplicates.MarkDistinctAsync(s.EditorId, datasetId, ids));

        var after = await Duplicates.FindAsync(s.ViewerId, datasetId);
        Assert.Empty(after.Groups);
        Assert.Equal(1, after.Hidden);
    }

    [Fact]
    public async Task KeepingOneRemovesTheOthersAndMovingToOneSplitEndsTheLeak()
    {
        var (s, datasetId) = await DatasetAsync();
        var group = (await Duplicates.FindAsync(s.EditorId, datasetId)).Groups.Single();
        var ids = group.Images.Select(i => i.ImageId).ToList();

        await Curation.MoveToSplitAsync(s.EditorId, datasetId, ids, DatasetSplit.Train);
        Assert.False((await Duplicates.FindAsync(s.EditorId, datasetId)).Groups.Single().CrossesSplits);

        var keep = group.Images.Single(i => i.OriginalName.EndsWith("chelsea.jpg")).ImageId;
        Assert.Equal(1, (await Curation.DeleteAsync(s.EditorId, datasetId, [.. ids.Where(id => id != keep)])).Images);
        Assert.Empty((await Duplicates.FindAsync(s.EditorId, datasetId)).Groups);
        Assert.Equal(2, (await _services.Datasets.GetAsync(s.EditorId, datasetId))!.Dataset.Images);
    }

    [Fact]
    public async Task AFrozenTestSplitKeepsItsImagesDuringDuplicateCleanUp()
    {
        var (s, datasetId) = await DatasetAsync();
        await _scope.ServiceProvider.GetRequiredService<DatasetSplitService>().SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
        var group = (await Duplicates.FindAsync(s.EditorId, datasetId)).Groups.Single();
        var ids = group.Images.Select(i => i.ImageId).ToList();
        var trainCopy = group.Images.Single(i => i.Split == DatasetSplit.Train).ImageId;

        var move = await Assert.ThrowsAsync<RuleViolationException>(() => Curation.MoveToSplitAsync(s.EditorId, datasetId, ids, DatasetSplit.Train));
        Assert.Contains("frozen", move.Message);
        await Assert.ThrowsAsync<RuleViolationException>(() => Curation.DeleteAsync(s.EditorId, datasetId, [.. ids.Where(id => id != trainCopy)]));
        Assert.Equal(3, (await _services.Datasets.GetAsync(s.EditorId, datasetId))!.Dataset.Images);
    }

    [Fact]
    public async Task ViewersMayLookButNotCleanUpAndOutsidersSeeNothing()
    {
        var (s, datasetId) = await DatasetAsync();
        var ids = (await Duplicates.FindAsync(s.ViewerId, datasetId)).Groups.Single().Images.Select(i => i.ImageId).ToList();
        await Assert.ThrowsAsync<ForbiddenException>(() => Curation.DeleteAsync(s.ViewerId, datasetId, [ids[0]]));
        await Assert.ThrowsAsync<ForbiddenException>(() => Curation.MoveToSplitAsync(s.ViewerId, datasetId, ids, DatasetSplit.Val));
        await Assert.ThrowsAsync<NotFoundException>(() => Duplicates.FindAsync(s.OutsiderId, datasetId));
        Assert.Contains("cosine similarity from 0.80 to 1.00", (await Assert.ThrowsAsync<RuleViolationException>(() => Duplicates.FindAsync(s.ViewerId, datasetId, 6))).Message);
    }
}
