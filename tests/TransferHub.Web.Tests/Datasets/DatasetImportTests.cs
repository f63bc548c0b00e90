using Microsoft.EntityFrameworkCore;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class DatasetImportTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private async Task<(TeamScenario Scenario, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        return (s, await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes"));
    }

    private async Task<List<DatasetImage>> ImagesAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetImages.Include(i => i.Class).Where(i => i.DatasetId == datasetId).OrderBy(i => i.OriginalName).ToListAsync();
    }

    [Fact]
    public async Task AGoodZipLandsWithItsClassesSplitsSizesAndThumbnails()
    {
        var (s, datasetId) = await DatasetAsync();
        var zip = TestFiles.Zip(("clothes/train/bag/1.png", TestFiles.Fashion("bag", 0)), ("clothes/train/sandal/2.png", TestFiles.Fashion("sandal", 0)),
            ("clothes/test/bag/3.png", TestFiles.Fashion("bag", 1)), ("clothes/val/sandal/4.png", TestFiles.Fashion("sandal", 1)));
        var progress = new List<ImportProgress>();

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, zip, new SyncProgress(progress));

        Assert.Equal(4, report.Accepted);
        Assert.Equal(0, report.Rejected);
        Assert.Equal(["bag", "sandal"], report.NewClasses);
        Assert.Equal(new ImportProgress(4, 4), progress[^1]);
        var images = await ImagesAsync(datasetId);
        // By original name: clothes/test/bag/3, clothes/train/bag/1, clothes/train/sandal/2, clothes/val/sandal/4.
        Assert.Equal(["bag", "bag", "sandal", "sandal"], images.Select(i => i.Class!.Name));
        Assert.Equal([DatasetSplit.Test, DatasetSplit.Train, DatasetSplit.Train, DatasetSplit.Val], images.Select(i => i.Split));
        Assert.All(images, i => Assert.Equal((28, 28), (i.Width, i.Height)));
        Assert.All(images, i => Assert.Equal(s.EditorId, i.AddedByUserId));
        var store = app.Service<Web.Storage.ImageStore>();
        Assert.All(images, i => Assert.True(store.Contains(i.Sha256)));
        await using var thumbnail = store.OpenThumbnail(images[0].Sha256);
        Assert.True(thumbnail.Length > 100);

        var overview = await _services.Datasets.GetAsync(s.ViewerId, datasetId);
        Assert.Equal(4, overview!.Dataset.Images);
        Assert.Equal((1, 0, 1), (overview.Classes[0].Train, overview.Classes[0].Val, overview.Classes[0].Test));
    }

    [Fact]
    public async Task ATruncatedProgressiveJpegIsRejectedWithTheDecodersOneReason()
    {
        // The first 20 % of a progressive JPEG, which SkiaSharp alone decodes "successfully" as a blur.
        var (s, datasetId) = await DatasetAsync();
        var cut = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "cases", "truncated-progressive.jpg"));

        var report = await _services.Import.ImportZipAsync(s.OwnerId, datasetId, TestFiles.Zip(("arrows/up.jpg", cut), ("bags/a.png", TestFiles.Fashion("bag", 0))));

        var rejected = Assert.Single(report.Files, f => f.Status == ImportFileStatus.Rejected);
        Assert.Equal(("arrows/up.jpg", ImageDecoder.TruncatedReason("JPEG")), (rejected.Path, rejected.Reason));
        Assert.Equal(["bags/a.png"], (await ImagesAsync(datasetId)).Select(i => i.OriginalName));
    }

    [Fact]
    public async Task EachBadFileGetsItsOwnReasonAndTheGoodFilesStillLand()
    {
        var (s, datasetId) = await DatasetAsync();
        var photo = TestFiles.Photo("chelsea.jpg");
        var zip = TestFiles.Zip(
            ("cats/good.jpg", photo),
            ("cats/copy.jpg", photo),
            ("cats/truncated.jpg", photo[..(photo.Length / 2)]),
            ("cats/notes.txt", "not an image"u8.ToArray()),
            ("cats/empty.png", []),
            ("cats/inner.zip", TestFiles.Zip(("a/b.png", TestFiles.Fashion("bag", 0))).ToArray()),
            ("../escape.png", TestFiles.Fashion("bag", 0)),
            ("loose.png", TestFiles.Fashion("bag", 1)),
            ("__MACOSX/cats/._good.jpg", [0, 1, 2]),
            ("dogs/coffee.png", TestFiles.Photo("coffee.png")));

        var report = await _services.Import.ImportZipAsync(s.OwnerId, datasetId, zip);

        var reasons = report.Files.Where(f => f.Status == ImportFileStatus.Rejected).ToDictionary(f => f.Path, f => f.Reason);
        Assert.Equal(2, report.Accepted);
        Assert.Equal(7, reasons.Count);
        Assert.StartsWith("duplicate of cats/good.jpg", reasons["cats/copy.jpg"]);
        Assert.Contains("truncated", reasons["cats/truncated.jpg"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("JPEG, PNG, WebP, GIF and BMP", reasons["cats/notes.txt"]);
        Assert.Equal("empty file (0 bytes)", reasons["cats/empty.png"]);
        Assert.StartsWith("nested archive", reasons["cats/inner.zip"]);
        Assert.StartsWith("path outside the archive", reasons["../escape.png"]);
        Assert.StartsWith("not inside a class folder", reasons["loose.png"]);
        Assert.Equal(1, report.Ignored);
        Assert.Equal(["cats/good.jpg", "dogs/coffee.png"], (await ImagesAsync(datasetId)).Select(i => i.OriginalName));
    }

    [Fact]
    public async Task ASecondUploadKeepsWhatWasThereAndRejectsDuplicatesOfIt()
    {
        var (s, datasetId) = await DatasetAsync();
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("bag/1.png", TestFiles.Fashion("bag", 0))));

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("bag/again.png", TestFiles.Fashion("bag", 0)), ("bag/2.png", TestFiles.Fashion("bag", 2))));

        Assert.Equal(1, report.Accepted);
        Assert.Equal("duplicate of bag/1.png, already in the dataset", report.Files.Single(f => f.Path == "bag/again.png").Reason);
        Assert.Equal(2, (await ImagesAsync(datasetId)).Count);
        Assert.Empty(report.NewClasses);
    }

    [Fact]
    public async Task AnArchiveOverALimitImportsNothingAndSaysWhy()
    {
        var (s, datasetId) = await DatasetAsync();
        var error = await Assert.ThrowsAsync<ArchiveException>(() =>
            _services.Import.ImportZipAsync(s.EditorId, datasetId, new MemoryStream("PK but broken"u8.ToArray())));
        Assert.Equal("The file is not a valid zip archive.", error.Message);
        Assert.Empty(await ImagesAsync(datasetId));
    }

    [Fact]
    public async Task ImagesDroppedIntoAClassGoThereUnassigned()
    {
        var (s, datasetId) = await DatasetAsync();
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("bag/1.png", TestFiles.Fashion("bag", 0))));
        var bagId = (await _services.Datasets.GetAsync(s.EditorId, datasetId))!.Classes.Single().ClassId;

        var report = await _services.Import.ImportFilesAsync(s.EditorId, datasetId, bagId,
            [("more.png", TestFiles.Fashion("bag", 3)), ("broken.png", [1, 2, 3]), ("empty.png", []), ("photos.zip", TestFiles.Zip(("a/b.png", TestFiles.Fashion("bag", 4))).ToArray())]);

        Assert.Equal(1, report.Accepted);
        var reasons = report.Files.Where(f => f.Status == ImportFileStatus.Rejected).ToDictionary(f => f.Path, f => f.Reason);
        Assert.Equal("empty file (0 bytes)", reasons["empty.png"]);
        Assert.StartsWith("nested archive", reasons["photos.zip"]);
        Assert.Contains("JPEG, PNG, WebP, GIF and BMP", reasons["broken.png"]);
        var added = (await ImagesAsync(datasetId)).Single(i => i.OriginalName == "more.png");
        Assert.Equal(("bag", DatasetSplit.Unassigned), (added.Class!.Name, added.Split));
    }

    [Fact]
    public async Task OutsidersAndViewersCannotImport()
    {
        var (s, datasetId) = await DatasetAsync();
        await Assert.ThrowsAsync<NotFoundException>(() => _services.Import.ImportZipAsync(s.OutsiderId, datasetId, TestFiles.Zip(("bag/1.png", TestFiles.Fashion("bag", 0)))));
        await Assert.ThrowsAsync<ForbiddenException>(() => _services.Import.ImportZipAsync(s.ViewerId, datasetId, TestFiles.Zip(("bag/1.png", TestFiles.Fashion("bag", 0)))));
        Assert.Null(await _services.Datasets.GetAsync(s.OutsiderId, datasetId));
        Assert.Empty(await ImagesAsync(datasetId));
    }

    private async Task<List<(string Name, int Images)>> ClassesAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        var rows = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal)
            .Select(c => new { c.Name, Images = db.DatasetImages.Count(i => i.ClassId == c.Id) }).ToListAsync();
        return [.. rows.Select(r => (r.Name, r.Images))];
    }

    [Fact]
    public async Task AComposedAndAMacOsDecomposedZipFillTheSameClasses()
    {
        var (s, datasetId) = await DatasetAsync();

        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Case("class-names-nfc.zip"));
        var second = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Case("class-names-nfd-macos.zip"));

        Assert.Equal(4, second.Accepted);
        Assert.Empty(second.NewClasses);
        Assert.Equal([("K\u00E4se", 8), ("\u72D7", 10), ("caf\u00E9", 10), ("Gr\u00FCne \u00C4pfel v1.2", 8)], await ClassesAsync(datasetId));
        Assert.Equal(["caf\u00E9", "caf\u00E9", "\u72D7", "\u72D7"], second.Files.Select(f => f.ClassName));
    }

    [Fact]
    public async Task Cp437FoldersBecomeTwoClassesWithTheirExactNames()
    {
        var (s, datasetId) = await DatasetAsync();

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Case("class-names-cp437.zip"));

        Assert.Equal(6, report.Accepted);
        Assert.Equal(["B\u00E4r", "B\u00F6r"], report.NewClasses);
        Assert.Equal([("B\u00E4r", 3), ("B\u00F6r", 3)], await ClassesAsync(datasetId));
        Assert.All((await ImagesAsync(datasetId)).Where(i => i.Class!.Name == "B\u00E4r"), i => Assert.StartsWith("B\u00E4r/red-", i.OriginalName));
    }

    [Fact]
    public async Task NamesFromEveryKindOfZipAreOneIdentityWithNoReplacementCharacter()
    {
        var (s, datasetId) = await DatasetAsync();
        var garbage = "??/4.png"u8.ToArray();
        var zip = new RawZip()
            .Add("\u00D1and\u00FA/1.png", RawZip.Cp437, TestFiles.Fashion("bag", 0))
            .Add("Gr\u00F6\u00DFe/2.png", RawZip.Cp437, TestFiles.Fashion("bag", 1))
            .Add("Gr\u00F6\u00DFe/3.png", System.Text.Encoding.UTF8, TestFiles.Fashion("bag", 2), utf8Flag: true)
            .Add(garbage, TestFiles.Fashion("bag", 3), extra: RawZip.UnicodePath(garbage, "\u00D1and\u00FA/4.png"))
            .Add("N\u0303andu\u0301/5.png", System.Text.Encoding.UTF8, TestFiles.Fashion("bag", 4)) // NFD, flag clear
            .ToStream();

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, zip);

        Assert.Equal(5, report.Accepted);
        Assert.Equal([("\u00D1and\u00FA", 3), ("Gr\u00F6\u00DFe", 2)], await ClassesAsync(datasetId));
        Assert.All(report.Files, f => Assert.DoesNotContain('\uFFFD', f.Path + f.ClassName));
    }

    [Fact]
    public async Task CaseOnlyNamesStayApartAndTrimmedFoldersAreReportedPerFileAndInTheSummary()
    {
        var (s, datasetId) = await DatasetAsync();

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Case("class-names-case-only.zip"));

        Assert.Equal(18, report.Accepted);
        Assert.Equal([("a", 3), ("A", 3), ("b", 3), ("B", 3), ("Cat", 6)], await ClassesAsync(datasetId));
        var trimmed = "folder \"Cat \" was read as class \"Cat\" (surrounding whitespace removed)";
        Assert.Equal(["Cat /Cat-5-0.png", "Cat /Cat-5-1.png", "Cat /Cat-5-2.png"], report.Files.Where(f => f.Note == trimmed).Select(f => f.Path));
        Assert.All(report.Files.Where(f => f.Note == trimmed), f => Assert.Equal("Cat", f.ClassName));
        Assert.Equal([$"{trimmed}: 3 files",
            "classes \"A\", \"a\" differ only by case and are kept apart (class names are case-sensitive)",
            "classes \"B\", \"b\" differ only by case and are kept apart (class names are case-sensitive)"], report.Notes);

        // Later uploads follow the same rule: x and X are two classes, a spaced folder joins its class with a note.
        var again = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(
            ("x/1.png", TestFiles.Fashion("bag", 0)), ("X/2.png", TestFiles.Fashion("bag", 1)), (" a /3.png", TestFiles.Fashion("bag", 2))));
        Assert.Equal(["x", "X"], again.NewClasses);
        Assert.Equal([("a", 4), ("A", 3), ("b", 3), ("B", 3), ("Cat", 6), ("x", 1), ("X", 1)], await ClassesAsync(datasetId));
        Assert.Equal("folder \" a \" was read as class \"a\" (surrounding whitespace removed)", again.Files[2].Note);
        Assert.Contains("classes \"X\", \"x\" differ only by case and are kept apart (class names are case-sensitive)", again.Notes);
        Assert.Contains("classes \"A\", \"a\" differ only by case and are kept apart (class names are case-sensitive)", again.Notes);
    }

    [Fact]
    public async Task ImagesDroppedIntoAClassKeepItsOneName()
    {
        var (s, datasetId) = await DatasetAsync();
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("caf\u00E9/1.png", TestFiles.Fashion("bag", 0))));
        var cafe = (await _services.Datasets.GetAsync(s.EditorId, datasetId))!.Classes.Single().ClassId;

        var dropped = await _services.Import.ImportFilesAsync(s.EditorId, datasetId, cafe, [("cafe\u0301.png", TestFiles.Fashion("bag", 1))]);
        var zipped = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("cafe\u0301/2.png", TestFiles.Fashion("bag", 2))));

        Assert.Equal((1, 1), (dropped.Accepted, zipped.Accepted));
        Assert.Equal([("caf\u00E9", 3)], await ClassesAsync(datasetId));
    }

    [Fact]
    public async Task AClassStoredDecomposedBeforeNamesWereNormalisedIsJoinedNotDoubled()
    {
        var (s, datasetId) = await DatasetAsync();
        await using (var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync())
        {
            db.DatasetClasses.Add(new DatasetClass { DatasetId = datasetId, Name = "cafe\u0301", Ordinal = 0 });
            await db.SaveChangesAsync();
        }

        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("caf\u00E9/1.png", TestFiles.Fashion("bag", 0))));

        Assert.Empty(report.NewClasses);
        Assert.Equal([("cafe\u0301", 1)], await ClassesAsync(datasetId));
    }

    [Fact]
    public async Task AnEmptyArchiveIsAClearErrorNotAnEmptyReport()
    {
        var (s, datasetId) = await DatasetAsync();
        var error = await Assert.ThrowsAsync<ArchiveException>(() => _services.Import.ImportZipAsync(s.EditorId, datasetId, RawZip.Empty()));
        Assert.Equal("The archive holds no files.", error.Message);
    }

    [Fact]
    public async Task AnArchiveWithoutImagesIsAClearErrorAndImportsNothing()
    {
        var (s, datasetId) = await DatasetAsync();
        var zip = TestFiles.Zip(("__MACOSX/cats/._a.png", [0, 1]), ("cats/.DS_Store", [1, 2]), ("cats/notes.txt", "text"u8.ToArray()),
            ("readme.md", "# read me"u8.ToArray()), ("cats/Thumbs.db", [3]));

        var error = await Assert.ThrowsAsync<ArchiveException>(() => _services.Import.ImportZipAsync(s.EditorId, datasetId, zip));

        Assert.Equal("The archive holds no images (5 files, 3 of them system files such as .DS_Store; none is an image in a supported format: " +
            "JPEG, PNG, WebP, GIF and BMP).", error.Message);
        Assert.Empty(await ClassesAsync(datasetId));
        Assert.Empty(await ImagesAsync(datasetId));
    }

    [Fact]
    public async Task AnArchiveWhoseImagesAreAllRefusedForOtherReasonsStillGetsItsReport()
    {
        var (s, datasetId) = await DatasetAsync();
        var photo = TestFiles.Photo("chelsea.jpg");
        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(
            ("cats/cut.jpg", photo[..(photo.Length / 2)]), ("../escape.png", TestFiles.Fashion("bag", 0)), ("loose.png", TestFiles.Fashion("bag", 1))));
        Assert.Equal(3, report.Rejected);
    }

    /// <summary>Progress that records synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(List<ImportProgress> seen) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => seen.Add(value);
    }
}
