using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class DatasetSplitTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private DatasetSplitService Splits => app.Services.CreateScope().ServiceProvider.GetRequiredService<DatasetSplitService>();

    /// <summary>A dataset with 20 bags and 10 sandals, all unassigned.</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var stream = TestFiles.Zip(TestFiles.FashionEntries("bag", 20, "bag").Concat(TestFiles.FashionEntries("sandal", 10, "sandal")));
        Assert.Equal(30, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, stream)).Accepted);
        return (s, datasetId);
    }

    private async Task<Dictionary<string, DatasetSplit>> SplitsAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetImages.Where(i => i.DatasetId == datasetId).ToDictionaryAsync(i => i.Sha256, i => i.Split);
    }

    [Fact]
    public async Task TheSameImagesAndSeedGiveTheSameSplitInAnotherDatasetProcessOrInstallation()
    {
        // Two datasets from the same zip: different class and image ids, as on another installation.
        var (s, first) = await DatasetAsync();
        var second = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags, again");
        var stream = TestFiles.Zip(TestFiles.FashionEntries("bag", 20, "bag").Concat(TestFiles.FashionEntries("sandal", 10, "sandal")));
        await _services.Import.ImportZipAsync(s.EditorId, second, stream);

        await Splits.SplitAsync(s.EditorId, first, new SplitRatios(0.6, 0.2, 0.2), seed: 5);
        await Splits.SplitAsync(s.EditorId, second, new SplitRatios(0.6, 0.2, 0.2), seed: 5);

        Assert.Equal(await SplitsAsync(first), await SplitsAsync(second));
        // The class's shuffle seed is a fixed function (SHA-256), not the per-process HashCode: computed independently.
        Assert.Equal(912690589, DatasetSplitService.ShuffleSeed(1, "bag"));
    }

    [Fact]
    public async Task ASplitIsStratifiedPerClassAndTheSameSeedGivesTheSameSplit()
    {
        var (s, datasetId) = await DatasetAsync();

        var outcome = await Splits.SplitAsync(s.EditorId, datasetId, new SplitRatios(0.6, 0.2, 0.2), seed: 3);

        Assert.Equal((18, 6, 6), (outcome.Train, outcome.Val, outcome.Test));
        var classes = (await _services.Datasets.GetAsync(s.EditorId, datasetId))!.Classes;
        Assert.Equal((12, 4, 4, 0), (classes[0].Train, classes[0].Val, classes[0].Test, classes[0].Unassigned)); // bag: 20
        Assert.Equal((6, 2, 2, 0), (classes[1].Train, classes[1].Val, classes[1].Test, classes[1].Unassigned)); // sandal: 10
        var first = await SplitsAsync(datasetId);

        Assert.Equal(0, (await Splits.SplitAsync(s.EditorId, datasetId, new SplitRatios(0.6, 0.2, 0.2), seed: 3)).Moved);
        Assert.Equal(first, await SplitsAsync(datasetId));
        Assert.True((await Splits.SplitAsync(s.EditorId, datasetId, new SplitRatios(0.6, 0.2, 0.2), seed: 4)).Moved > 0);
    }

    [Fact]
    public async Task AFrozenTestSplitKeepsItsImagesAndTakesNoNewOnes()
    {
        var (s, datasetId) = await DatasetAsync();
        await Splits.SplitAsync(s.EditorId, datasetId, SplitRatios.Default, seed: 1);
        var before = await SplitsAsync(datasetId);
        await Splits.SetTestSplitFrozenAsync(s.EditorId, datasetId, true);

        await Splits.SplitAsync(s.EditorId, datasetId, new SplitRatios(0.5, 0.25, 0.25), seed: 99);

        var after = await SplitsAsync(datasetId);
        Assert.Equal(before.Where(p => p.Value == DatasetSplit.Test).Select(p => p.Key).Order(), after.Where(p => p.Value == DatasetSplit.Test).Select(p => p.Key).Order());
        Assert.True((await _services.Datasets.GetAsync(s.ViewerId, datasetId))!.Dataset.TestSplitFrozen);
    }

    [Fact]
    public async Task TheVersionChangesWithLabelsAndSplitsAndOnlyThen()
    {
        var (s, datasetId) = await DatasetAsync();
        var v1 = await Splits.VersionAsync(s.ViewerId, datasetId);
        Assert.Equal(v1, await Splits.VersionAsync(s.OwnerId, datasetId));
        Assert.Matches("^[0-9a-f]{64}$", v1);

        await Splits.SplitAsync(s.EditorId, datasetId, SplitRatios.Default, seed: 1);
        var v2 = await Splits.VersionAsync(s.ViewerId, datasetId);
        Assert.NotEqual(v1, v2);
        await Splits.SplitAsync(s.EditorId, datasetId, SplitRatios.Default, seed: 1);
        Assert.Equal(v2, await Splits.VersionAsync(s.ViewerId, datasetId));
    }

    [Fact]
    public async Task TheVersionIsTheHashOfEveryImagesHashLabelAndSplitInHashOrder()
    {
        var (s, datasetId) = await DatasetAsync();
        await Splits.SplitAsync(s.EditorId, datasetId, SplitRatios.Default, seed: 5);
        await using var db = await app.DbAsync();
        var rows = await db.DatasetImages.Where(i => i.DatasetId == datasetId).Select(i => new { i.Sha256, i.Class!.Name, i.Split }).ToListAsync();

        // The definition jobs will record, written out independently: any faster implementation must keep it.
        var text = string.Concat(rows.OrderBy(r => r.Sha256, StringComparer.Ordinal).Select(r => $"{r.Sha256}\t{r.Name}\t{r.Split}\n"));
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

        Assert.Equal(expected, await Splits.VersionAsync(s.ViewerId, datasetId));
        // The same from rows in any order (what a job computes from its own copy of the rows).
        Assert.Equal(expected, DatasetSplitService.ContentVersion(rows.OrderByDescending(r => r.Name).Select(r => (r.Sha256, r.Name, r.Split))));
    }

    [Fact]
    public async Task BadRatiosViewersAndOutsidersAreRefused()
    {
        var (s, datasetId) = await DatasetAsync();
        var bad = await Assert.ThrowsAsync<RuleViolationException>(() => Splits.SplitAsync(s.EditorId, datasetId, new SplitRatios(0.5, 0.2, 0.2), 1));
        Assert.Contains("add up to 100 %", bad.Message);
        await Assert.ThrowsAsync<RuleViolationException>(() => Splits.SetTestSplitFrozenAsync(s.EditorId, datasetId, true)); // nothing in test yet
        await Assert.ThrowsAsync<ForbiddenException>(() => Splits.SplitAsync(s.ViewerId, datasetId, SplitRatios.Default, 1));
        await Assert.ThrowsAsync<NotFoundException>(() => Splits.SplitAsync(s.OutsiderId, datasetId, SplitRatios.Default, 1));
        await Assert.ThrowsAsync<NotFoundException>(() => Splits.VersionAsync(s.OutsiderId, datasetId));
        Assert.All((await SplitsAsync(datasetId)).Values, split => Assert.Equal(DatasetSplit.Unassigned, split));
    }
}
