using System.Text;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class DatasetArchiveTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4];

    private static List<ArchiveFile> Read(Stream zip, ImportOptions? options = null) => DatasetArchive.Read(zip, options ?? new ImportOptions()).ToList();

    [Fact]
    public void FolderPerClassGivesEachImageItsClassAndNoSplit()
    {
        var files = Read(TestFiles.Zip(("cat/1.png", Png), ("dog/2.png", Png), ("dog/sub/3.png", Png)));
        var images = files.OfType<ArchiveImage>().ToList();
        Assert.Equal(["cat", "dog", "dog"], images.Select(i => i.ClassName));
        Assert.All(images, i => Assert.Equal(ArchiveSplit.None, i.Split));
        Assert.Equal(Png, images[0].Data);
    }

    [Fact]
    public void SplitFoldersAboveClassFoldersSetTheSplit()
    {
        var images = Read(TestFiles.Zip(("train/cat/1.png", Png), ("val/cat/2.png", Png), ("test/dog/3.png", Png), ("Validation/dog/4.png", Png)))
            .OfType<ArchiveImage>().ToList();
        Assert.Equal([ArchiveSplit.Train, ArchiveSplit.Val, ArchiveSplit.Test, ArchiveSplit.Val], images.Select(i => i.Split));
        Assert.Equal(["cat", "cat", "dog", "dog"], images.Select(i => i.ClassName));
    }

    [Fact]
    public void ASingleTopLevelFolderIsSkipped()
    {
        var images = Read(TestFiles.Zip(("pets/train/cat/1.png", Png), ("pets/test/dog/2.png", Png))).OfType<ArchiveImage>().ToList();
        Assert.Equal(["cat", "dog"], images.Select(i => i.ClassName));
        Assert.Equal([ArchiveSplit.Train, ArchiveSplit.Test], images.Select(i => i.Split));
    }

    [Fact]
    public void ZipSlipPathsAreRejectedAndNeverRead()
    {
        var files = Read(TestFiles.Zip(("../evil/x.png", Png), ("cat/../../x.png", Png), ("/etc/x.png", Png), ("cat/ok.png", Png)));
        var rejected = files.OfType<ArchiveRejection>().ToList();
        Assert.Equal(3, rejected.Count);
        Assert.All(rejected, r => Assert.Contains("path outside the archive", r.Reason));
        Assert.Single(files.OfType<ArchiveImage>());
    }

    [Fact]
    public void OsLitterIsIgnoredNotReportedAsAProblem()
    {
        var files = Read(TestFiles.Zip(("__MACOSX/cat/._1.png", Png), ("cat/.DS_Store", Png), ("cat/Thumbs.db", Png), ("cat/.hidden.png", Png), ("cat/1.png", Png)));
        Assert.Single(files.OfType<ArchiveImage>());
        Assert.Equal(4, files.OfType<ArchiveRejection>().Count(r => r.Ignored));
    }

    [Fact]
    public void EmptyFilesNestedArchivesAndLooseFilesGetTheirOwnReasons()
    {
        var files = Read(TestFiles.Zip(("cat/empty.png", []), ("cat/more.zip", Png), ("loose.png", Png), ("train/loose.png", Png), ("cat/ok.png", Png)));
        var reasons = files.OfType<ArchiveRejection>().ToDictionary(r => r.Path, r => r.Reason);
        Assert.Equal("empty file (0 bytes)", reasons["cat/empty.png"]);
        Assert.StartsWith("nested archive", reasons["cat/more.zip"]);
        Assert.StartsWith("not inside a class folder", reasons["loose.png"]);
        Assert.StartsWith("not inside a class folder", reasons["train/loose.png"]);
        Assert.Single(files.OfType<ArchiveImage>());
    }

    [Fact]
    public void AHighlyCompressedFileIsRejectedAsAPossibleZipBomb()
    {
        var bomb = new byte[5_000_000]; // zeros compress about 1000:1
        var files = Read(TestFiles.Zip(("cat/bomb.png", bomb), ("cat/ok.png", Png)));
        var rejection = Assert.Single(files.OfType<ArchiveRejection>());
        Assert.Contains("possible zip bomb", rejection.Reason);
        Assert.Single(files.OfType<ArchiveImage>());
    }

    [Fact]
    public void PerFileAndWholeArchiveLimitsAreEnforced()
    {
        var big = new byte[10_000];
        Random.Shared.NextBytes(big);
        var options = new ImportOptions { MaxFileBytes = 5_000 };
        var rejection = Assert.Single(Read(TestFiles.Zip(("cat/big.png", big), ("cat/ok.png", Png)), options).OfType<ArchiveRejection>());
        Assert.Contains("per-file limit", rejection.Reason);

        var whole = Assert.Throws<ArchiveException>(() => Read(TestFiles.Zip(("cat/a.png", big), ("cat/b.png", big)), new ImportOptions { MaxUnpackedBytes = 15_000 }));
        Assert.Contains("unpacks to", whole.Message);
        var count = Assert.Throws<ArchiveException>(() => Read(TestFiles.Zip(("cat/a.png", Png), ("cat/b.png", Png)), new ImportOptions { MaxFilesPerArchive = 1 }));
        Assert.Contains("limit is 1", count.Message);
    }

    [Fact]
    public void ANonZipIsRejectedAsAWhole()
    {
        var error = Assert.Throws<ArchiveException>(() => Read(new MemoryStream("not a zip at all"u8.ToArray())));
        Assert.Equal("The file is not a valid zip archive.", error.Message);
    }

    [Fact]
    public void EachEntrysNameIsDecodedByItsOwnRuleAndComposed()
    {
        var garbage = "train/??/4.png"u8.ToArray();
        var zip = new RawZip()
            .Add("train/Ñandú/1.png", RawZip.Cp437, Png)                         // CP437, flag clear
            .Add("train/Größe/2.png", RawZip.Cp437, Png)
            .Add("train/Größe/3.png", Encoding.UTF8, Png, utf8Flag: true)        // the same name flagged UTF-8
            .Add(garbage, Png, extra: RawZip.UnicodePath(garbage, "train/Bär/4.png")) // Info-ZIP Unicode Path
            .Add("train/cafe\u0301/5.png", Encoding.UTF8, Png)                   // macOS: NFD UTF-8, flag clear
            .Add("train/caf\u00E9/6.png", Encoding.UTF8, Png, utf8Flag: true)   // NFC, flagged
            .ToStream();

        var images = Read(zip).OfType<ArchiveImage>().ToList();

        Assert.Equal(["Ñandú", "Größe", "Größe", "Bär", "caf\u00E9", "caf\u00E9"], images.Select(i => i.ClassName));
        Assert.Equal(["train/Ñandú/1.png", "train/Größe/2.png", "train/Größe/3.png", "train/Bär/4.png", "train/caf\u00E9/5.png", "train/caf\u00E9/6.png"],
            images.Select(i => i.Path));
        Assert.All(images, i => Assert.DoesNotContain('\uFFFD', i.ClassName));
        Assert.All(images, i => Assert.Null(i.ClassNote));
    }

    [Fact]
    public void Cp437FoldersOfTheCaseFileStayTwoClasses()
    {
        var images = Read(TestFiles.Case("class-names-cp437.zip")).OfType<ArchiveImage>().ToList();
        Assert.Equal(["Bär", "Bär", "Bär", "Bör", "Bör", "Bör"], images.Select(i => i.ClassName));
    }

    [Fact]
    public void AFlaggedNameThatIsNotUtf8IsRejectedNotGuessed()
    {
        var zip = new RawZip().Add(RawZip.Cp437.GetBytes("Bär/1.png"), Png, RawZip.Utf8Flag).Add("cat/2.png", Encoding.UTF8, Png).ToStream();
        var files = Read(zip);
        var rejection = Assert.Single(files.OfType<ArchiveRejection>());
        Assert.Contains("not valid UTF-8", rejection.Reason);
        Assert.Equal("cat", Assert.Single(files.OfType<ArchiveImage>()).ClassName);
    }

    [Fact]
    public void CaseIsKeptAndSurroundingWhitespaceIsRemovedWithANote()
    {
        var images = Read(TestFiles.Zip(("x/1.png", Png), ("X/2.png", Png), (" Cat /3.png", Png), ("Cat/4.png", Png), ("train/ dog/5.png", Png)))
            .OfType<ArchiveImage>().ToList();
        Assert.Equal(["x", "X", "Cat", "Cat", "dog"], images.Select(i => i.ClassName));
        Assert.Equal([null, null, "folder \" Cat \" was read as class \"Cat\" (surrounding whitespace removed)", null,
            "folder \" dog\" was read as class \"dog\" (surrounding whitespace removed)"], images.Select(i => i.ClassNote));
    }

    [Fact]
    public void AClassFolderThatIsNoUsableNameIsRejectedPerFile()
    {
        var files = Read(TestFiles.Zip(("B\uFFFDr/1.png", Png), ("ok/2.png", Png)));
        Assert.Contains("U+FFFD", Assert.Single(files.OfType<ArchiveRejection>()).Reason);
        Assert.Equal("ok", Assert.Single(files.OfType<ArchiveImage>()).ClassName);
    }

    [Fact]
    public void AnArchiveWithoutFilesIsRejectedAsAWhole()
    {
        Assert.Equal("The archive holds no files.", Assert.Throws<ArchiveException>(() => Read(RawZip.Empty())).Message);
        var folders = new RawZip().Add("cat/", Encoding.UTF8, []).Add("dog/", Encoding.UTF8, []).ToStream();
        Assert.Equal("The archive holds no files, only 2 empty folders.", Assert.Throws<ArchiveException>(() => Read(folders)).Message);
    }
}
