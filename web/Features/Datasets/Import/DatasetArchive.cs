using System.IO.Compression;
using System.Text;

namespace TransferHub.Web.Features.Datasets.Import;

/// <summary>Where an archive's folders put an image.</summary>
public enum ArchiveSplit { None, Train, Val, Test }

/// <summary>One file of an archive: an image candidate or a rejection.</summary>
public abstract record ArchiveFile(string Path);

/// <summary>A file that passed the archive-level checks; its bytes are not yet known to be an image.
/// <see cref="ClassName"/> is normalised (<see cref="ClassNames.Normalize"/>); <see cref="ClassNote"/> says how, when
/// the folder's name was changed visibly.</summary>
public sealed record ArchiveImage(string Path, string ClassName, ArchiveSplit Split, byte[] Data, string? ClassNote = null) : ArchiveFile(Path);

/// <summary>A file the import did not take, and why, in words for the user. Ignored files are OS litter.</summary>
public sealed record ArchiveRejection(string Path, string Reason, bool Ignored = false) : ArchiveFile(Path);

/// <summary>The archive as a whole cannot be imported (nothing was taken from it).</summary>
public sealed class ArchiveException(string message) : Exception(message);

/// <summary>
/// Reads a folder-per-class zip (<c>class/image</c>, or <c>train|val|test/class/image</c>, optionally inside one
/// top-level folder) defensively: paths that escape the archive, nested archives, empty files, oversized files and
/// suspicious compression ratios are rejected per file; OS litter (<c>__MACOSX</c>, <c>.DS_Store</c>,
/// <c>Thumbs.db</c>, hidden files) is ignored. Whole-archive limits, and an archive without files, raise
/// <see cref="ArchiveException"/>. Entry names are decoded per entry as the zip specification says
/// (<see cref="ZipEntryNames"/>) and put in Unicode NFC; class folders become class names by
/// <see cref="ClassNames.Normalize"/>.
/// </summary>
public static class DatasetArchive
{
    private static readonly HashSet<string> NestedArchiveExtensions =
        [".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz", ".zst"];

    private static readonly HashSet<string> SystemFiles = new(StringComparer.OrdinalIgnoreCase) { ".DS_Store", "Thumbs.db", "desktop.ini" };

    public const string LayoutHelp = "expected <class>/<image> or train|val|test/<class>/<image>";

    /// <summary>How many files (not folders) the archive lists: as many as <see cref="Read"/> yields. Reads only the
    /// central directory and puts the stream back where it was.</summary>
    /// <exception cref="ArchiveException">not a zip</exception>
    public static int CountFiles(Stream zip)
    {
        var start = zip.Position;
        try
        {
            using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
            return archive.Entries.Count(e => !IsFolder(e.FullName.Replace('\\', '/')));
        }
        catch (InvalidDataException)
        {
            throw new ArchiveException("The file is not a valid zip archive.");
        }
        finally
        {
            zip.Position = start;
        }
    }

    /// <summary>Checks the archive's directory, then yields each file: an image candidate or a rejection.</summary>
    /// <exception cref="ArchiveException">not a zip, or over a whole-archive limit</exception>
    public static IEnumerable<ArchiveFile> Read(Stream zip, ImportOptions options)
    {
        ZipArchive archive;
        try
        {
            // Latin-1 maps bytes 1:1, so the names ZipArchive decodes are checked against the raw ones read below.
            archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: Encoding.Latin1);
        }
        catch (InvalidDataException)
        {
            throw new ArchiveException("The file is not a valid zip archive.");
        }

        using (archive)
        {
            var names = Names(zip, archive);
            var files = Enumerable.Range(0, names.Count).Where(i => !IsFolder(names[i].Path))
                .Select(i => (Entry: archive.Entries[i], names[i].Path, names[i].Readable)).ToList();
            if (files.Count == 0)
                throw new ArchiveException(names.Count == 0
                    ? "The archive holds no files."
                    : $"The archive holds no files, only {names.Count:N0} empty folder{(names.Count == 1 ? "" : "s")}.");
            if (files.Count > options.MaxFilesPerArchive)
                throw new ArchiveException($"The archive holds {files.Count:N0} files; the limit is {options.MaxFilesPerArchive:N0}.");
            var unpacked = files.Sum(e => e.Entry.Length);
            if (unpacked > options.MaxUnpackedBytes)
                throw new ArchiveException($"The archive unpacks to {Bytes(unpacked)}; the limit is {Bytes(options.MaxUnpackedBytes)}.");

            var paths = files.Select(e => Segments(e.Path)).ToList();
            var prefix = CommonTopFolder(paths.Where(p => p is not null && !IsSystem(p)).ToList()!);
            for (var i = 0; i < files.Count; i++)
            {
                var (entry, path, readable) = files[i];
                var segments = paths[i];
                if (!readable)
                {
                    yield return new ArchiveRejection(path, "its name is marked as UTF-8 (general purpose bit 11) but is not valid UTF-8; not extracted");
                    continue;
                }
                if (segments is null)
                {
                    yield return new ArchiveRejection(path, "path outside the archive (absolute or with '..'); not extracted");
                    continue;
                }
                if (IsSystem(segments))
                {
                    yield return new ArchiveRejection(path, "system file, ignored", Ignored: true);
                    continue;
                }
                var rejection = Check(entry, segments, options);
                if (rejection is not null)
                {
                    yield return new ArchiveRejection(path, rejection);
                    continue;
                }
                var relative = segments.Skip(prefix).ToArray();
                var split = relative.Length >= 3 ? SplitOf(relative[0]) : ArchiveSplit.None;
                var classIndex = split == ArchiveSplit.None ? 0 : 1;
                if (relative.Length < 2 || (split == ArchiveSplit.None && relative.Length >= 2 && SplitOf(relative[0]) != ArchiveSplit.None))
                {
                    yield return new ArchiveRejection(path, $"not inside a class folder ({LayoutHelp})");
                    continue;
                }
                var data = ReadBounded(entry, options.MaxFileBytes);
                if (data is null)
                {
                    yield return new ArchiveRejection(path, $"unpacks to more than its header says or over the {Bytes(options.MaxFileBytes)} per-file limit (possible zip bomb)");
                    continue;
                }
                var folder = relative[classIndex];
                var (className, note, error) = ClassNames.Read(folder);
                if (error is not null)
                {
                    yield return new ArchiveRejection(path, $"class folder \"{folder}\": {error}");
                    continue;
                }
                yield return new ArchiveImage(path, className!, split, data, note is null ? null : $"folder {note}");
            }
        }
    }

    /// <summary>The checks every uploaded file passes, from a zip or dropped loose: not an archive, not empty, not
    /// over the per-file limit. Returns the reason for refusing it, or null.</summary>
    public static string? CheckFile(string fileName, long length, ImportOptions options)
    {
        if (NestedArchiveExtensions.Contains(Path.GetExtension(fileName).ToLowerInvariant())) return "nested archive: unpack it and upload its images";
        if (length == 0) return "empty file (0 bytes)";
        if (length > options.MaxFileBytes) return $"{Bytes(length)} is over the {Bytes(options.MaxFileBytes)} per-file limit";
        return null;
    }

    /// <summary>Each entry's path ('/'-separated, NFC) and whether its name could be read at all.</summary>
    private static List<(string Path, bool Readable)> Names(Stream zip, ZipArchive archive)
    {
        var raw = ZipEntryNames.ReadCentralDirectory(zip);
        if (raw.Count != archive.Entries.Count)
            throw new ArchiveException("The archive's central directory cannot be read.");
        var names = new List<(string, bool)>(raw.Count);
        for (var i = 0; i < raw.Count; i++)
        {
            var (flags, name, extra) = (raw[i].Flags, raw[i].Name, raw[i].Extra);
            // The same entry as ZipArchive's (which decodes flag-clear names with the 1:1 Latin-1 asked for above).
            if ((flags & 0x800) == 0 && archive.Entries[i].FullName != Encoding.Latin1.GetString(name))
                throw new ArchiveException("The archive's central directory cannot be read.");
            var decoded = ZipEntryNames.Decode(name, flags, extra);
            var path = (decoded ?? Encoding.UTF8.GetString(name)).Replace('\\', '/');
            names.Add((decoded is null ? path : path.Normalize(NormalizationForm.FormC), decoded is not null));
        }
        return names;
    }

    private static bool IsFolder(string path) => path.EndsWith('/');

    private static string? Check(ZipArchiveEntry entry, string[] segments, ImportOptions options)
    {
        if (CheckFile(segments[^1], entry.Length, options) is { } reason) return reason;
        if (entry.CompressedLength > 0 && (double)entry.Length / entry.CompressedLength > options.MaxCompressionRatio)
            return $"compression ratio {entry.Length / entry.CompressedLength:N0}:1 is over the {options.MaxCompressionRatio:N0}:1 limit (possible zip bomb)";
        return null;
    }

    /// <summary>The entry's bytes, or null when it yields more than its header announced or than the limit.</summary>
    private static byte[]? ReadBounded(ZipArchiveEntry entry, long limit)
    {
        var expected = entry.Length;
        using var stream = entry.Open();
        var buffer = new byte[expected];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) return null; // shorter than announced: corrupt
            read += n;
        }
        return stream.ReadByte() == -1 && read <= limit ? buffer : null;
    }

    /// <summary>Path segments, or null when the path is absolute or climbs out with "..".</summary>
    private static string[]? Segments(string fullName)
    {
        var path = fullName.Replace('\\', '/');
        if (path.StartsWith('/') || (path.Length > 1 && path[1] == ':')) return null;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Any(s => s is ".." or ".") ? null : segments;
    }

    private static bool IsSystem(string[] segments) =>
        segments.Any(s => s.Equals("__MACOSX", StringComparison.OrdinalIgnoreCase) || s.StartsWith('.')) || SystemFiles.Contains(segments[^1]);

    /// <summary>1 when every file sits under the same single top-level folder that is not itself a split or class
    /// level (a zip of the dataset's folder), else 0.</summary>
    private static int CommonTopFolder(IReadOnlyList<string[]> paths)
    {
        if (paths.Count == 0 || paths.Any(p => p.Length < 3)) return 0;
        var top = paths[0][0];
        if (SplitOf(top) != ArchiveSplit.None) return 0;
        return paths.All(p => p[0] == top) ? 1 : 0;
    }

    private static ArchiveSplit SplitOf(string folder) => folder.ToLowerInvariant() switch
    {
        "train" or "training" => ArchiveSplit.Train,
        "val" or "valid" or "validation" => ArchiveSplit.Val,
        "test" or "testing" => ArchiveSplit.Test,
        _ => ArchiveSplit.None,
    };

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes} bytes",
    };
}
