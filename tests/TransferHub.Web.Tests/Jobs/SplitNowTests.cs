using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The launch form's blocker and its "Split now" fix through the real services: a fresh upload is blocked by one
/// reason, the fix makes it launchable, and images added later are split without moving the others.</summary>
public sealed class SplitNowTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task AFreshUploadHasOneBlockerWhichSplitNowRemovesAndNewImagesAreSplitAlone()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var perClass = new[] { "bag", "sandal" }.Select(c => TestFiles.FashionEntries(c, 12, c).ToList()).ToList();
        Assert.Equal(22, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(perClass.SelectMany(c => c.Take(11))))).Accepted);
        var jobs = _services.Get<JobService>();

        var context = await jobs.LaunchContextAsync(s.EditorId, datasetId);
        var blocker = Assert.Single(context.Blockers);
        Assert.Equal((BlockerKind.NotSplit, BlockerFix.SplitAll), (blocker.Kind, blocker.Fix));
        Assert.Equal(BlockerKind.ViewerOnly, (await jobs.LaunchContextAsync(s.ViewerId, datasetId)).Blockers[0].Kind);
        // A viewer cannot perform the fix either: the server checks the role.
        await Assert.ThrowsAsync<ForbiddenException>(() => _services.Get<DatasetSplitService>()
            .SplitAsync(s.ViewerId, datasetId, TrainingReadiness.RatiosFor(false), 1, onlyUnsplit: false));

        await _services.Get<DatasetSplitService>().SplitAsync(s.EditorId, datasetId, TrainingReadiness.RatiosFor(false), 1, onlyUnsplit: false);
        context = await jobs.LaunchContextAsync(s.EditorId, datasetId);
        Assert.Empty(context.Blockers);
        Assert.Equal(22, context.Train + context.Val + context.Test);
        await _services.Get<DatasetSplitService>().SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
        var before = await SplitsAsync(datasetId);

        // Two more images arrive without a split: only they are split, into train and validation (the test split is frozen).
        Assert.Equal(2, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(perClass.Select(c => c[11])))).Accepted);
        blocker = Assert.Single((await jobs.LaunchContextAsync(s.EditorId, datasetId)).Blockers);
        Assert.Equal((BlockerKind.NotSplit, BlockerFix.SplitUnsplit, "Split 82/18 now (test frozen)"), (blocker.Kind, blocker.Fix, blocker.ActionText));
        await _services.Get<DatasetSplitService>().SplitAsync(s.EditorId, datasetId, TrainingReadiness.RatiosFor(true), 1, onlyUnsplit: true);

        var after = await SplitsAsync(datasetId);
        Assert.All(before, b => Assert.Equal(b.Value, after[b.Key])); // nobody else moved
        Assert.Equal(24, after.Count);
        Assert.DoesNotContain(after.Values, split => split == DatasetSplit.Unassigned);
        Assert.Equal(before.Count(b => b.Value == DatasetSplit.Test), after.Count(a => a.Value == DatasetSplit.Test));
        Assert.Empty((await jobs.LaunchContextAsync(s.EditorId, datasetId)).Blockers);
    }

    private async Task<Dictionary<string, DatasetSplit>> SplitsAsync(int datasetId)
    {
        await using var db = await app.DbAsync();
        return await db.DatasetImages.Where(i => i.DatasetId == datasetId).ToDictionaryAsync(i => i.Sha256, i => i.Split);
    }
}
