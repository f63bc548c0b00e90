using System.IO.Compression;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>The committed test images (Fashion-MNIST subset, photos) and zips built from them.</summary>
public static class TestFiles
{
    private static string Root => Path.Combine(AppContext.BaseDirectory, "TestData");

    public static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(Root, "photos", name));

    /// <summary>A file of <c>TestData/cases</c> (inputs the product once handled wrongly), as a stream at its start.</summary>
    public static MemoryStream Case(string name) => new(File.ReadAllBytes(Path.Combine(Root, "cases", name)));

    /// <summary>The <paramref name="index"/>-th image (in file-name order) of a Fashion-MNIST class.</summary>
    public static byte[] Fashion(string cls, int index) => File.ReadAllBytes(FashionFiles(cls).ElementAt(index));

    /// <summary>The first <paramref name="count"/> images of a class as zip entries named <c>{folder}/{file name}</c>.</summary>
    public static IEnumerable<(string Path, byte[] Data)> FashionEntries(string cls, int count, string folder) =>
        FashionFiles(cls).Take(count).Select(f => ($"{folder}/{Path.GetFileName(f)}", File.ReadAllBytes(f)));

    /// <summary>A zip of the given entries, positioned at its start.</summary>
    public static MemoryStream Zip(IEnumerable<(string Path, byte[] Data)> files)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (path, data) in files)
            {
                using var entry = zip.CreateEntry(path).Open();
                entry.Write(data);
            }
        stream.Position = 0;
        return stream;
    }

    public static MemoryStream Zip(params (string Path, byte[] Data)[] files) => Zip(files.AsEnumerable());

    private static IEnumerable<string> FashionFiles(string cls) =>
        Directory.GetFiles(Path.Combine(Root, "fashion-mnist", cls)).Order(StringComparer.Ordinal);
}
