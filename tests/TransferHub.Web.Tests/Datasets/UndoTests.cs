using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Storage;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>Undo of image and class deletes through the real services and database.</summary>
public sealed class UndoTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope();
    private readonly ServiceScope _services = new(app);

    public void Dispose()
    {
        _services.Dispose();
        _scope.Dispose();
    }

    private CurationService Curation => _scope.ServiceProvider.GetRequiredService<CurationService>();
    private ClassService Classes => _scope.ServiceProvider.GetRequiredService<ClassService>();

    /// <summary>Classes bag, sandal, sneaker (ordinals 0, 1, 2); of each, 2 train images and 1 test image.</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Undo");
        var entries = new[] { "bag", "sandal", "sneaker" }.SelectMany(cls =>
            TestFiles.FashionEntries(cls, 3, $"train/{cls}").Select((e, n) => n == 2 ? ($"test/{cls}/{Path.GetFileName(e.Path)}", e.Data) : e));
        Assert.Equal(9, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }

    /// <summary>Every column of every image, with its class name, in id order.</summary>
    private async Task<List<(long Id, string Sha, string? Class, DatasetSplit Split, string Name, int W, int H, bool Flagged, long? PHash, string? By, DateTime At)>>
        RowsAsync(int datasetId)
    {
        await using var db = await app.DbAsync();
        var rows = await db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.Sha256, Class = i.Class == null ? null : i.Class.Name, i.Split, i.OriginalName, i.Width, i.Height, i.Flagged, i.PerceptualHash, i.AddedByUserId, i.AddedAt })
            .ToListAsync();
        return [.. rows.Select(r => (r.Id, r.Sha256, r.Class, r.Split, r.OriginalName, r.Width, r.Height, r.Flagged, r.PerceptualHash, r.AddedByUserId, r.AddedAt))];
    }

    private async Task<List<(string Name, int Ordinal)>> ClassesAsync(int datasetId)
    {
        await using var db = await app.DbAsync();
        var rows = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal).Select(c => new { c.Name, c.Ordinal }).ToListAsync();
        return [.. rows.Select(r => (r.Name, r.Ordinal))];
    }

    private async Task<int> ClassIdAsync(string userId, int datasetId, string name) =>
        (await _services.Datasets.GetAsync(userId, datasetId))!.Classes.Single(c => c.Name == name).ClassId;

    [Fact]
    public async Task UndoingADeleteRestoresExactlyTheDeletedRowsFromTheStoredFiles()
    {
        var (s, datasetId) = await DatasetAsync();
        var before = await RowsAsync(datasetId);
        var doomed = new[] { before[0], before[2], before[4] }; // a train bag, the test bag, a train sandal

        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [.. doomed.Select(r => r.Id)]);

        Assert.Equal(3, receipt.Images);
        Assert.Equal(6, (await RowsAsync(datasetId)).Count);
        Assert.False(await _services.Datasets.HasImageAsync(s.EditorId, datasetId, doomed[0].Sha));
        // Deleting never removes a stored file: that is what lets undo work without an upload.
        Assert.All(doomed, r => Assert.True(app.Service<ImageStore>().Contains(r.Sha)));

        var outcome = await Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken);

        Assert.Equal((3, 0, 0), (outcome.Images, outcome.AlreadyThere, outcome.RecreatedClasses.Count));
        Assert.Equal(before, await RowsAsync(datasetId));
        Assert.True(await _services.Datasets.HasImageAsync(s.ViewerId, datasetId, doomed[0].Sha));
        // Undo works once.
        var again = await Assert.ThrowsAsync<RuleViolationException>(() => Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken));
        Assert.Contains("can no longer be undone", again.Message);
    }

    [Fact]
    public async Task AViewerOrAnOutsiderCannotRestoreAndTheirAttemptDoesNotUseTheUndoUp()
    {
        var (s, datasetId) = await DatasetAsync();
        var before = await RowsAsync(datasetId);
        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [before[0].Id, before[1].Id]);

        await Assert.ThrowsAsync<ForbiddenException>(() => Curation.RestoreAsync(s.ViewerId, datasetId, receipt.UndoToken));
        await Assert.ThrowsAsync<NotFoundException>(() => Curation.RestoreAsync(s.OutsiderId, datasetId, receipt.UndoToken));
        Assert.Equal(7, (await RowsAsync(datasetId)).Count);

        // The owner (an editor of the team, not only the one who deleted) may undo it.
        Assert.Equal(2, (await Curation.RestoreAsync(s.OwnerId, datasetId, receipt.UndoToken)).Images);
        Assert.Equal(before, await RowsAsync(datasetId));
    }

    [Fact]
    public async Task ATokenDoesNotRestoreIntoAnotherDataset()
    {
        var (s, datasetId) = await DatasetAsync();
        var otherId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Other");
        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [(await RowsAsync(datasetId))[0].Id]);

        await Assert.ThrowsAsync<RuleViolationException>(() => Curation.RestoreAsync(s.EditorId, otherId, receipt.UndoToken));

        Assert.Empty(await RowsAsync(otherId));
        Assert.Equal(1, (await Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken)).Images);
    }

    [Fact]
    public async Task UndoingAClassDeleteBringsTheClassBackInItsPlaceWithItsImages()
    {
        var (s, datasetId) = await DatasetAsync();
        var before = await RowsAsync(datasetId);

        var deleted = await Classes.DeleteAsync(s.EditorId, datasetId, await ClassIdAsync(s.EditorId, datasetId, "sandal"), ClassImagesOnDelete.DeleteImages);
        Assert.Equal([("bag", 0), ("sneaker", 1)], await ClassesAsync(datasetId));
        var unlabelled = await Classes.DeleteAsync(s.EditorId, datasetId, await ClassIdAsync(s.EditorId, datasetId, "bag"), ClassImagesOnDelete.Unlabel);
        Assert.Equal(3, unlabelled.Images);

        // Undone last first, as an editor would.
        var bags = await Curation.RestoreAsync(s.EditorId, datasetId, unlabelled.UndoToken);
        var sandals = await Curation.RestoreAsync(s.EditorId, datasetId, deleted.UndoToken);

        Assert.Equal((3, "sandal"), (sandals.Images, Assert.Single(sandals.RecreatedClasses)));
        Assert.Equal((3, "bag"), (bags.Images, Assert.Single(bags.RecreatedClasses)));
        Assert.Equal([("bag", 0), ("sandal", 1), ("sneaker", 2)], await ClassesAsync(datasetId));
        Assert.Equal(before, await RowsAsync(datasetId));
    }

    [Fact]
    public async Task ImagesWhoseClassWasDeletedMeanwhileComeBackUnderTheClassCreatedAgain()
    {
        var (s, datasetId) = await DatasetAsync();
        var bag = (await RowsAsync(datasetId)).First(r => r.Class == "bag");
        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [bag.Id]);
        await Classes.DeleteAsync(s.OwnerId, datasetId, await ClassIdAsync(s.OwnerId, datasetId, "bag"), ClassImagesOnDelete.DeleteImages);

        var outcome = await Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken);

        Assert.Equal(["bag"], outcome.RecreatedClasses);
        Assert.Equal([("sandal", 0), ("sneaker", 1), ("bag", 2)], await ClassesAsync(datasetId));
        Assert.Equal(bag, Assert.Single(await RowsAsync(datasetId), r => r.Class == "bag"));
    }

    [Fact]
    public async Task AnImageUploadedAgainMeanwhileIsNotRestoredTwice()
    {
        var (s, datasetId) = await DatasetAsync();
        var bag = (await RowsAsync(datasetId)).First(r => r.Class == "bag");
        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [bag.Id]);
        await _services.Import.ImportFilesAsync(s.EditorId, datasetId, await ClassIdAsync(s.EditorId, datasetId, "sneaker"), [("again.png", TestFiles.Fashion("bag", 0))]);

        var outcome = await Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken);

        Assert.Equal((0, 1), (outcome.Images, outcome.AlreadyThere));
        Assert.Equal("sneaker", Assert.Single(await RowsAsync(datasetId), r => r.Sha == bag.Sha).Class);
    }

    [Fact]
    public async Task TestImagesDoNotComeBackIntoATestSplitFrozenSinceTheDelete()
    {
        var (s, datasetId) = await DatasetAsync();
        var before = await RowsAsync(datasetId);
        var receipt = await Curation.DeleteAsync(s.EditorId, datasetId, [before.First(r => r.Split == DatasetSplit.Test).Id]);
        var splits = _scope.ServiceProvider.GetRequiredService<DatasetSplitService>();
        await splits.SetTestSplitFrozenAsync(s.EditorId, datasetId, true);

        var refused = await Assert.ThrowsAsync<RuleViolationException>(() => Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken));
        Assert.Contains("frozen", refused.Message);
        Assert.Equal(8, (await RowsAsync(datasetId)).Count);

        await splits.SetTestSplitFrozenAsync(s.EditorId, datasetId, false);
        await Curation.RestoreAsync(s.EditorId, datasetId, receipt.UndoToken);
        Assert.Equal(before, await RowsAsync(datasetId));
    }
}

/// <summary>The undo shelf on its own (kept in the database, ADR 035): tokens expire, are single-use and belong to one
/// dataset, and outlive the service instance that kept them (another web instance, or a restart, can take them).</summary>
public sealed class DeletionUndoTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static DeletionSnapshot Snapshot(int datasetId) =>
        new(datasetId, [new DeletedImage(1, new string('a', 64), 5, "cat", DatasetSplit.Test, "a.png", 10, 12, true, 42, null, new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc))],
            new DeletedClass(5, "cat", 2), [7, 8]);

    private DeletionUndo Undo(TimeProvider clock) =>
        new(app.Service<IDbContextFactory<TransferHubDbContext>>(), clock);

    private async Task<int> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        using var services = new ServiceScope(app);
        return await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shelf");
    }

    [Fact]
    public async Task ADeletionCanBeTakenOnceWithinTheWindowAndOnlyForItsDataset()
    {
        var datasetId = await DatasetAsync();
        var clock = new ManualClock();
        var receipt = await Undo(clock).KeepAsync(Snapshot(datasetId));

        Assert.Equal(clock.Now + DeletionUndo.Window, receipt.UndoUntil);
        Assert.Equal(3, receipt.Images);
        Assert.Null(await Undo(clock).TakeAsync(receipt.UndoToken, datasetId: datasetId + 1));
        clock.Now += DeletionUndo.Window - TimeSpan.FromSeconds(1);
        // Another instance of the shelf (as on another web instance) takes it, with every field as kept.
        var kept = await Undo(clock).TakeAsync(receipt.UndoToken, datasetId);
        Assert.NotNull(kept);
        Assert.Equal(receipt.UndoUntil, kept.Until);
        var image = Assert.Single(kept.Snapshot.Images);
        Assert.Equal(Snapshot(datasetId).Images[0], image);
        Assert.Equal(new DeletedClass(5, "cat", 2), kept.Snapshot.Class);
        Assert.Equal([7L, 8L], kept.Snapshot.Unlabelled);
        Assert.Null(await Undo(clock).TakeAsync(receipt.UndoToken, datasetId));

        await Undo(clock).PutBackAsync(receipt.UndoToken, kept);
        Assert.NotNull(await Undo(clock).TakeAsync(receipt.UndoToken, datasetId));
    }

    [Fact]
    public async Task ADeletionExpiresAfterTheWindowAndIsPrunedByTheNextKeep()
    {
        var datasetId = await DatasetAsync();
        var clock = new ManualClock();
        var undo = Undo(clock);
        var receipt = await undo.KeepAsync(Snapshot(datasetId));

        clock.Now += DeletionUndo.Window;

        Assert.Null(await undo.TakeAsync(receipt.UndoToken, datasetId));
        await undo.KeepAsync(Snapshot(datasetId));
        await using var db = await app.DbAsync();
        Assert.False(await db.KeptDeletions.AnyAsync(k => k.Token == receipt.UndoToken));
    }

    [Fact]
    public async Task TwoInstancesTakingTheSameDeletionAtOnceRestoreItOnce()
    {
        var datasetId = await DatasetAsync();
        var clock = new ManualClock();
        var receipt = await Undo(clock).KeepAsync(Snapshot(datasetId));

        var taken = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Undo(clock).TakeAsync(receipt.UndoToken, datasetId))));

        Assert.Single(taken, t => t is not null);
    }
}
