using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets.Live;

/// <summary>The notifier on its own.</summary>
public sealed class DatasetEventsTests
{
    private readonly DatasetEvents _events = new(TimeProvider.System, new Features.Instances.InProcessLiveBus(), NullLogger<DatasetEvents>.Instance);

    private static DatasetChange Change(int datasetId, string what) => new(datasetId, "u-ana", "ana", what, Guid.NewGuid(), DateTimeOffset.UtcNow);

    [Fact]
    public void SubscribersOfTheDatasetGetItsChangesUntilTheyUnsubscribe()
    {
        var first = new List<string>();
        var second = new List<string>();
        var subscription = _events.Subscribe(1, c => { first.Add(c.Note); return Task.CompletedTask; });
        _events.Subscribe(1, c => { second.Add(c.Note); return Task.CompletedTask; });

        _events.Publish(Change(1, "relabelled 3 images as cat"));
        _events.Publish(Change(2, "deleted 1 image"));
        subscription.Dispose();
        subscription.Dispose(); // twice is harmless
        _events.Publish(Change(1, "froze the test split"));

        Assert.Equal(["ana relabelled 3 images as cat"], first);
        Assert.Equal(["ana relabelled 3 images as cat", "ana froze the test split"], second);
        Assert.Equal(1, _events.SubscriberCount(1));
    }

    [Fact]
    public void AFailingSubscriberNeitherFailsThePublisherNorStopsTheOthers()
    {
        var told = 0;
        _events.Subscribe(1, _ => throw new InvalidOperationException("broken page"));
        _events.Subscribe(1, _ => Task.FromException(new InvalidOperationException("broken async page")));
        _events.Subscribe(1, _ => { told++; return Task.CompletedTask; });

        _events.Publish(Change(1, "deleted 1 image"));

        Assert.Equal(1, told);
    }

    [Fact]
    public void CountsAreWordedForPeople() =>
        Assert.Equal(["1 image", "3 images", "1,200 images", "2 new classes"],
            [DatasetEvents.Count(1, "image"), DatasetEvents.Count(3, "image"), DatasetEvents.Count(1200, "image"), DatasetEvents.Count(2, "new class", "new classes")]);
}

/// <summary>Every change a user can make to a dataset reaches the other viewers, named, through the real services.</summary>
public sealed class DatasetChangePublishingTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope(); // the editor's tab
    private readonly ServiceScope _services = new(app);

    public void Dispose()
    {
        _services.Dispose();
        _scope.Dispose();
    }

    private T Get<T>() where T : notnull => _scope.ServiceProvider.GetRequiredService<T>();

    [Fact]
    public async Task EachChangeIsPublishedOnceWithWhoDidWhatAndFromWhichTab()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Live");
        var changes = new List<DatasetChange>();
        using var subscription = app.Service<DatasetEvents>().Subscribe(datasetId, c => { lock (changes) changes.Add(c); return Task.CompletedTask; });
        var editor = s.Email("editor");
        var import = Get<Features.Datasets.Import.DatasetImportService>();
        var curation = Get<CurationService>();
        var classes = Get<ClassService>();
        var splits = Get<DatasetSplitService>();

        await import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(TestFiles.FashionEntries("bag", 4, "bag").Concat(TestFiles.FashionEntries("sandal", 4, "sandal"))));
        var overview = (await _services.Datasets.GetAsync(s.EditorId, datasetId))!;
        int ClassId(string name) => overview.Classes.Single(c => c.Name == name).ClassId;
        await import.ImportFilesAsync(s.EditorId, datasetId, ClassId("bag"), [("more.png", TestFiles.Fashion("bag", 5))]);
        var ids = (await _services.Datasets.PageImagesAsync(s.EditorId, datasetId, null, null, 1, 50)).Items.Select(i => i.Id).ToList();
        await curation.RelabelAsync(s.EditorId, datasetId, ids[..3], ClassId("sandal"));
        await curation.MoveToSplitAsync(s.EditorId, datasetId, ids[..2], DatasetSplit.Val);
        var deleted = await curation.DeleteAsync(s.EditorId, datasetId, [ids[2]]);
        await curation.RestoreAsync(s.EditorId, datasetId, deleted.UndoToken);
        var bootId = await classes.AddAsync(s.EditorId, datasetId, "boot");
        await classes.RenameAsync(s.EditorId, datasetId, bootId, "ankle boot");
        await classes.MergeAsync(s.EditorId, datasetId, ClassId("bag"), ClassId("sandal"));
        await classes.DeleteAsync(s.EditorId, datasetId, bootId, ClassImagesOnDelete.Unlabel);
        await splits.SplitAsync(s.EditorId, datasetId, SplitRatios.Default, seed: 1);
        await splits.SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
        // Refused changes tell nobody.
        await Assert.ThrowsAnyAsync<Features.FeatureException>(() => curation.DeleteAsync(s.ViewerId, datasetId, [ids[0]]));

        string[] expected =
        [
            "imported 8 images (2 new classes)",
            "added 1 image to bag",
            "relabelled 3 images as sandal",
            "moved 2 images to validation",
            "deleted 1 image",
            "restored 1 image (undo)",
            "added class \"boot\"",
            "renamed class \"boot\" to \"ankle boot\"",
            "merged class \"bag\" into \"sandal\" (2 images relabelled)",
            "deleted class \"ankle boot\" (0 images left unlabelled)",
        ];
        lock (changes)
        {
            Assert.Equal(expected, changes.Take(expected.Length).Select(c => c.What));
            Assert.StartsWith("split the dataset by class (", changes[^2].What);
            Assert.Equal("froze the test split", changes[^1].What);
            Assert.Equal(expected.Length + 2, changes.Count);
            Assert.All(changes, c => Assert.Equal((datasetId, s.EditorId, editor, Get<ClientSession>().Id), (c.DatasetId, c.ActorId, c.ActorName, c.Origin)));
            Assert.Equal($"{editor} relabelled 3 images as sandal", changes[2].Note);
        }
    }
}
