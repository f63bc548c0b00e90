using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>Long dataset work in the hosted <see cref="DatasetWork"/>: progress, results, cancellation, and the spooled
/// upload's clean-up.</summary>
public sealed class DatasetWorkTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly ServiceScope _services = new(app);
    private readonly IServiceScope _scope = app.Services.CreateScope();

    public void Dispose()
    {
        _scope.Dispose();
        _services.Dispose();
    }

    private DatasetWork Work => app.Service<DatasetWork>();

    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync(string name)
    {
        var s = await TeamScenario.CreateAsync(app);
        return (s, await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, name));
    }

    /// <summary>Eight distinct images in two classes, in this order in the zip.</summary>
    private static MemoryStream EightImages() =>
        TestFiles.Zip(TestFiles.FashionEntries("bag", 4, "train/bag").Concat(TestFiles.FashionEntries("sandal", 4, "test/sandal")));

    private static string Spool(MemoryStream zip)
    {
        var path = Path.Combine(Path.GetTempPath(), $"transferhub-test-{Guid.NewGuid():N}.zip");
        File.WriteAllBytes(path, zip.ToArray());
        return path;
    }

    /// <summary>Every update of the dataset's work, from before the operation starts, and its end.</summary>
    private sealed class Watch : IDisposable
    {
        private readonly IDisposable _subscription;

        public Watch(DatasetWork work, int datasetId, Action<DatasetWorkUpdate>? onUpdate = null) =>
            _subscription = work.SubscribeDataset(datasetId, update =>
            {
                lock (Updates) Updates.Add(update);
                onUpdate?.Invoke(update);
                if (update.Finished) Finished.TrySetResult(update);
                return Task.CompletedTask;
            });

        public List<DatasetWorkUpdate> Updates { get; } = [];

        public TaskCompletionSource<DatasetWorkUpdate> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => _subscription.Dispose();
    }

    private async Task<List<string>> ImageNamesAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.OriginalName).Select(i => i.OriginalName).ToListAsync();
    }

    private static List<string> Describe(ImportReport report) =>
        [.. report.Files.Select(f => $"{f.Path}|{f.Status}|{f.Reason}|{f.ClassName}|{f.Note}"), .. report.NewClasses.Select(c => $"class {c}"), .. report.Notes];

    [Fact]
    public async Task AnImportThroughTheHostedServiceReportsProgressAndTheSameReportAsOnThePage()
    {
        var (s, direct) = await DatasetAsync("Direct");
        var background = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Background");
        var zip = TestFiles.Zip([.. TestFiles.FashionEntries("bag", 3, "bag"), ("bag/notes.txt", "not an image"u8.ToArray()), ("__MACOSX/._x", [1])]);
        var expected = await _services.Import.ImportZipAsync(s.EditorId, direct, new MemoryStream(zip.ToArray()));
        var spooled = Spool(zip);
        var origin = Guid.NewGuid();
        var changes = new TaskCompletionSource<DatasetChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var change = app.Service<DatasetEvents>().Subscribe(background, c => { changes.TrySetResult(c); return Task.CompletedTask; });
        using var watch = new Watch(Work, background);

        var operation = Work.StartImportZip(s.EditorId, background, spooled, "bags.zip", origin);
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal((operation, DatasetWorkState.Completed, null), (done.OperationId, done.State, done.Error));
        Assert.Equal(Describe(expected), Describe(done.Report!));
        Assert.Equal(3, done.Report!.Accepted);
        // Progress came file by file, in order, before the end.
        List<DatasetWorkUpdate> updates;
        lock (watch.Updates) updates = [.. watch.Updates];
        var importing = updates.Where(u => u is { State: DatasetWorkState.Running, Step.Phrase: "importing" }).Select(u => u.Step).ToList();
        Assert.Equal([1, 2, 3, 4, 5], importing.Select(p => p.Done));
        Assert.All(importing, p => Assert.Equal(5, p.Total));
        Assert.Same(done, updates[^1]);
        Assert.Equal(done, Work.Current(operation));
        Assert.Equal(await ImageNamesAsync(direct), await ImageNamesAsync(background));
        // Viewers of the dataset hear of it as coming from the tab that started it; the spooled file is gone.
        var heard = await changes.Task.WaitAsync(Patience);
        Assert.Equal((origin, "imported 3 images (1 new class)"), (heard.Origin, heard.What));
        Assert.False(File.Exists(spooled));
    }

    [Fact]
    public async Task CancellingAnImportStopsBetweenFilesAndKeepsAndReportsTheFilesImportedBefore()
    {
        var (s, datasetId) = await DatasetAsync("Cancelled");
        var spooled = Spool(EightImages());
        var operation = Guid.Empty;
        // Progress is published from the import itself, so cancelling in the handler takes effect before the next file.
        using var watch = new Watch(Work, datasetId, update =>
        {
            if (update is { State: DatasetWorkState.Running, Step: { Phrase: "importing", Done: 3 } })
                Assert.True(Work.Cancel(update.OperationId));
        });

        operation = Work.StartImportZip(s.EditorId, datasetId, spooled, "eight.zip", Guid.NewGuid());
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal(DatasetWorkState.Cancelled, done.State);
        Assert.Equal((3, 8), (done.Step.Done, done.Step.Total));
        var report = done.Report!;
        Assert.Equal(3, report.Files.Count);
        Assert.Equal(3, report.Accepted);
        Assert.Equal(["bag"], report.NewClasses);
        // Exactly the reported files are in the dataset: none half-written, none of the files after the cancel.
        Assert.Equal(report.Files.Select(f => f.Path).Order(), await ImageNamesAsync(datasetId));
        var overview = await _services.Datasets.GetAsync(s.EditorId, datasetId);
        Assert.Equal(3, overview!.Dataset.Images);
        Assert.Equal(["bag"], overview.Classes.Select(c => c.Name));
        Assert.False(File.Exists(spooled));
        Assert.False(Work.Cancel(operation));

        // The rest can be imported afterwards: the kept files are recognised as already there.
        var again = await _services.Import.ImportZipAsync(s.EditorId, datasetId, EightImages());
        Assert.Equal((5, 3), (again.Accepted, again.Rejected));
    }

    [Fact]
    public async Task AnImportCancelledWhileQueuedBehindOthersEndsAtOnceImportsNothingAndDeletesTheUpload()
    {
        var (s, waiting) = await DatasetAsync("Waiting");
        var release = new ManualResetEventSlim();
        var busy = new List<(Watch Watch, int DatasetId)>();
        var blocked = new CountdownEvent(DatasetWork.MaxConcurrent);
        try
        {
            // Fill every slot with an import held at its first file (progress handlers run on the import's thread).
            for (var i = 0; i < DatasetWork.MaxConcurrent; i++)
            {
                var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, $"Busy {i}");
                var watch = new Watch(Work, datasetId, update =>
                {
                    if (update is { State: DatasetWorkState.Running, Step: { Phrase: "importing", Done: 1 } })
                    {
                        blocked.Signal();
                        release.Wait(Patience);
                    }
                });
                busy.Add((watch, datasetId));
                Work.StartImportZip(s.EditorId, datasetId, Spool(EightImages()), "busy.zip", Guid.NewGuid());
            }
            Assert.True(blocked.Wait(Patience));
            var spooled = Spool(EightImages());
            using var watchWaiting = new Watch(Work, waiting);

            var operation = Work.StartImportZip(s.EditorId, waiting, spooled, "eight.zip", Guid.NewGuid());
            Assert.Equal(DatasetWorkState.Queued, Work.Current(operation)!.State);
            Assert.True(Work.Cancel(operation));
            var done = await watchWaiting.Finished.Task.WaitAsync(Patience);

            Assert.Equal((DatasetWorkState.Cancelled, null, null), (done.State, done.Report, done.Error));
            Assert.False(File.Exists(spooled));
            release.Set();
            foreach (var (watch, datasetId) in busy)
            {
                Assert.Equal(DatasetWorkState.Completed, (await watch.Finished.Task.WaitAsync(Patience)).State);
                Assert.Equal(8, (await ImageNamesAsync(datasetId)).Count);
            }
            // It never started, even once a slot was free.
            Assert.Empty(await ImageNamesAsync(waiting));
            Assert.Single(watchWaiting.Updates);
        }
        finally
        {
            release.Set();
            foreach (var (watch, _) in busy) watch.Dispose();
            blocked.Dispose();
            release.Dispose();
        }
    }

    [Fact]
    public async Task AnImportTheCallerMayNotMakeFailsWithTheReasonAndDeletesTheUpload()
    {
        var (s, datasetId) = await DatasetAsync("Refused");
        var spooled = Spool(EightImages());
        using var watch = new Watch(Work, datasetId);

        Work.StartImportZip(s.ViewerId, datasetId, spooled, "eight.zip", Guid.NewGuid());
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal(DatasetWorkState.Failed, done.State);
        Assert.False(string.IsNullOrWhiteSpace(done.Error));
        Assert.Null(done.Report);
        Assert.Empty(await ImageNamesAsync(datasetId));
        Assert.False(File.Exists(spooled));
    }

    [Fact]
    public async Task ANotAZipUploadFailsWithTheSameWordsAsBefore()
    {
        var (s, datasetId) = await DatasetAsync("Garbage");
        var spooled = Spool(new MemoryStream("not a zip at all"u8.ToArray()));
        using var watch = new Watch(Work, datasetId);

        Work.StartImportZip(s.EditorId, datasetId, spooled, "junk.zip", Guid.NewGuid());
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal((DatasetWorkState.Failed, "junk.zip was not imported: The file is not a valid zip archive."), (done.State, done.Error));
        Assert.False(File.Exists(spooled));
    }

    private static byte[] HalfSizeJpeg(byte[] data)
    {
        using var bitmap = SKBitmap.Decode(data);
        using var small = bitmap.Resize(new SKImageInfo(bitmap.Width / 2, bitmap.Height / 2), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var encoded = small.Encode(SKEncodedImageFormat.Jpeg, 70);
        return encoded.ToArray();
    }

    [Fact]
    public async Task ANearDuplicateSearchThroughTheHostedServiceFindsTheSameGroups()
    {
        var (s, datasetId) = await DatasetAsync("Pets");
        var cat = TestFiles.Photo("chelsea.jpg");
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("train/cat/chelsea.jpg", cat),
            ("test/cat/chelsea-small.jpg", HalfSizeJpeg(cat)), ("train/cup/coffee.png", TestFiles.Photo("coffee.png"))));
        var expected = (await _scope.ServiceProvider.GetRequiredService<DuplicateService>().FindAsync(s.ViewerId, datasetId)).Groups;
        using var watch = new Watch(Work, datasetId);

        var operation = Work.StartFindDuplicates(s.ViewerId, datasetId, DuplicateService.DefaultThreshold, Guid.NewGuid());
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal((operation, DatasetWorkState.Completed, 1.0), (done.OperationId, done.State, done.Fraction));
        static List<List<long>> Ids(IEnumerable<DuplicateGroup> groups) => [.. groups.Select(g => g.Images.Select(i => i.ImageId).ToList())];
        Assert.Equal(Ids(expected), Ids(done.Duplicates!.Groups));
        Assert.True(Assert.Single(done.Duplicates.Groups).CrossesSplits);
        List<DatasetWorkUpdate> updates;
        lock (watch.Updates) updates = [.. watch.Updates];
        Assert.Contains(updates, u => u is { State: DatasetWorkState.Running, Step: { Phrase: "comparing", Done: 3, Total: 3 } });
    }

    [Fact]
    public async Task AnOutsidersSearchFailsAsNotFound()
    {
        var (s, datasetId) = await DatasetAsync("Private");
        using var watch = new Watch(Work, datasetId);

        Work.StartFindDuplicates(s.OutsiderId, datasetId, DuplicateService.DefaultThreshold, Guid.NewGuid());
        var done = await watch.Finished.Task.WaitAsync(Patience);

        Assert.Equal((DatasetWorkState.Failed, "Dataset not found."), (done.State, done.Error));
        Assert.Null(done.Duplicates);
    }
}
