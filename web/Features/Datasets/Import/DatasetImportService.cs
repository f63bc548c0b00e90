using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Datasets.Import;

/// <summary>What happened to one uploaded file. <see cref="Note"/>: how its class folder's name was read, when that
/// changed it visibly (e.g. surrounding whitespace removed).</summary>
public sealed record ImportFileResult(string Path, ImportFileStatus Status, string Reason, string? ClassName, string? Note = null);

public enum ImportFileStatus { Accepted, Rejected, Ignored }

/// <summary>The per-file report of one upload. <see cref="Notes"/>: what the user should know about the class names
/// read (folders read under another name, classes that differ from another only by case).</summary>
public sealed record ImportReport(IReadOnlyList<ImportFileResult> Files, IReadOnlyList<string> NewClasses)
{
    public IReadOnlyList<string> Notes { get; init; } = [];

    public int Accepted => Files.Count(f => f.Status == ImportFileStatus.Accepted);
    public int Rejected => Files.Count(f => f.Status == ImportFileStatus.Rejected);
    public int Ignored => Files.Count(f => f.Status == ImportFileStatus.Ignored);
}

/// <summary>How far an import is: files looked at, of how many.</summary>
public readonly record struct ImportProgress(int Done, int Total);

/// <summary>An import was cancelled between two files. What it had imported before is kept (committed, and announced
/// through <see cref="DatasetEvents"/>); <see cref="Partial"/> reports those files, <see cref="Total"/> says how many the
/// upload held.</summary>
public sealed class ImportCancelledException(ImportReport partial, int total)
    : OperationCanceledException($"The import was cancelled after {partial.Files.Count:N0} of {total:N0} files.")
{
    public ImportReport Partial { get; } = partial;

    public int Total { get; } = total;
}

/// <summary>
/// Adds images to a dataset: from a folder-per-class zip, or as files dropped into one class. Every file is
/// decoded before it is accepted; each rejected file gets its reason and the rest land. Images are committed in
/// batches, so a failure half way keeps what was already imported and loses nothing that was there before.
/// Cancellation is honoured between files, never inside one: every file looked at before it is committed and the
/// import ends with <see cref="ImportCancelledException"/> carrying their report.
/// </summary>
public sealed class DatasetImportService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    ImageStore store,
    IOptions<ImportOptions> options,
    TimeProvider clock,
    DatasetEvents events,
    ClientSession session)
{
    private const int BatchSize = 100;

    public ImportOptions Limits => options.Value;

    /// <summary>Checks that the caller may import into the dataset, so an HTTP upload can be refused before its body
    /// is received; <see cref="ImportZipAsync"/> checks again.</summary>
    /// <exception cref="NotFoundException">The caller cannot see such a dataset.</exception>
    /// <exception cref="ForbiddenException">The caller's role cannot change it.</exception>
    public async Task DemandImportAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
    }

    /// <summary>Imports a zip (a seekable stream: uploads are spooled to a temporary file first).</summary>
    /// <exception cref="ArchiveException">not a zip, over a whole-archive limit, no files, or no file that is an image
    /// (only OS litter, text and the like): nothing is imported</exception>
    public async Task<ImportReport> ImportZipAsync(string userId, int datasetId, Stream zip, IProgress<ImportProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (zip.CanSeek && zip.Length > options.Value.MaxUploadBytes)
            throw new ArchiveException($"The upload is {DatasetArchive.Bytes(zip.Length)}; the limit is {DatasetArchive.Bytes(options.Value.MaxUploadBytes)}.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var total = DatasetArchive.CountFiles(zip);
        // Lazily, one file's bytes at a time: the archive is never unpacked into memory as a whole. The first step of
        // the enumeration checks the whole-archive limits, before anything is written.
        var files = DatasetArchive.Read(zip, options.Value);
        ImportReport report;
        try
        {
            report = await ImportAsync(db, dataset, userId, files, total, progress, cancellationToken);
        }
        catch (ImportCancelledException cancelled)
        {
            await PublishImportedAsync(db, userId, datasetId, cancelled.Partial);
            throw;
        }
        // Nothing was written when nothing was accepted, so refusing the archive as a whole now loses nothing.
        if (report.Accepted == 0 && report.Files.All(f => !MayBeImage(f)))
            throw new ArchiveException($"The archive holds no images ({DatasetEvents.Count(report.Files.Count, "file")}" +
                (report.Ignored > 0 ? $", {report.Ignored:N0} of them system files such as .DS_Store" : "") +
                $"; none is an image in a supported format: {ImageDecoder.SupportedFormats}).");
        await PublishImportedAsync(db, userId, datasetId, report);
        return report;
    }

    private async Task PublishImportedAsync(TransferHubDbContext db, string userId, int datasetId, ImportReport report)
    {
        // Not cancellable: the images are committed, so whoever views the dataset is told, cancelled or not.
        if (report.Accepted > 0)
            await events.PublishAsync(db, session, userId, datasetId, $"imported {DatasetEvents.Count(report.Accepted, "image")}" +
                (report.NewClasses.Count > 0 ? $" ({DatasetEvents.Count(report.NewClasses.Count, "new class", "new classes")})" : ""), CancellationToken.None);
    }

    /// <summary>Imports loose image files into one existing class (no split: they start unassigned).</summary>
    public async Task<ImportReport> ImportFilesAsync(string userId, int datasetId, int classId, IEnumerable<(string Name, byte[] Data)> files,
        IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var className = await db.DatasetClasses.Where(c => c.Id == classId && c.DatasetId == datasetId).Select(c => c.Name)
            .FirstOrDefaultAsync(cancellationToken) ?? throw new NotFoundException("Class");
        var candidates = files.Select(f => DatasetArchive.CheckFile(f.Name, f.Data.Length, options.Value) is { } reason
            ? (ArchiveFile)new ArchiveRejection(f.Name, reason)
            : new ArchiveImage(f.Name, ClassNames.Key(className), ArchiveSplit.None, f.Data)).ToList();
        ImportReport report;
        try
        {
            report = await ImportAsync(db, dataset, userId, candidates, candidates.Count, progress, cancellationToken);
        }
        catch (ImportCancelledException cancelled)
        {
            await PublishAddedAsync(cancelled.Partial);
            throw;
        }
        await PublishAddedAsync(report);
        return report;

        async Task PublishAddedAsync(ImportReport added)
        {
            if (added.Accepted > 0)
                await events.PublishAsync(db, session, userId, datasetId, $"added {DatasetEvents.Count(added.Accepted, "image")} to {className}", CancellationToken.None);
        }
    }

    private async Task<ImportReport> ImportAsync(TransferHubDbContext db, Dataset dataset, string userId, IEnumerable<ArchiveFile> files,
        int total, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == dataset.Id).OrderBy(c => c.Ordinal).ToListAsync(cancellationToken);
        // Ordinal on the normalised form: case-sensitive; rows stored before names were normalised match by their NFC form.
        var byName = new Dictionary<string, DatasetClass>(ClassNames.Comparer);
        foreach (var c in classes)
            byName.TryAdd(ClassNames.Key(c.Name), c);
        var used = new HashSet<string>(ClassNames.Comparer);
        var nextOrdinal = classes.Count;
        var known = await db.DatasetImages.Where(i => i.DatasetId == dataset.Id)
            .Select(i => new { i.Sha256, i.OriginalName }).ToDictionaryAsync(i => i.Sha256, i => i.OriginalName, cancellationToken);
        var results = new List<ImportFileResult>(total);
        var newClasses = new List<string>();
        var pending = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        foreach (var file in files)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Between files: what was looked at so far is committed whole, the rest is not touched.
                await db.SaveChangesAsync(CancellationToken.None);
                throw new ImportCancelledException(new ImportReport(results, newClasses) { Notes = Notes(results, byName.Keys, used) }, total);
            }
            var result = file switch
            {
                ArchiveRejection r => new ImportFileResult(r.Path, r.Ignored ? ImportFileStatus.Ignored : ImportFileStatus.Rejected, r.Reason, null),
                ArchiveImage image => await AcceptAsync(image),
                _ => throw new InvalidOperationException(),
            };
            results.Add(result);
            if (pending >= BatchSize)
            {
                await db.SaveChangesAsync(CancellationToken.None);
                pending = 0;
            }
            progress?.Report(new ImportProgress(results.Count, total));
        }
        await db.SaveChangesAsync(CancellationToken.None);
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        Telemetry.Telemetry.ImportFiles.Add(results.Count);
        if (results.Count > 0 && seconds > 0) Telemetry.Telemetry.ImportThroughput.Record(results.Count / seconds);
        return new ImportReport(results, newClasses) { Notes = Notes(results, byName.Keys, used) };

        async Task<ImportFileResult> AcceptAsync(ArchiveImage image)
        {
            var sha = ContentHash.Of(image.Data);
            if (known.TryGetValue(sha, out var existing))
                return new ImportFileResult(image.Path, ImportFileStatus.Rejected, $"duplicate of {existing}, already in the dataset", image.ClassName);
            var split = image.Split switch
            {
                ArchiveSplit.Train => DatasetSplit.Train,
                ArchiveSplit.Val => DatasetSplit.Val,
                ArchiveSplit.Test => DatasetSplit.Test,
                _ => DatasetSplit.Unassigned,
            };
            if (split == DatasetSplit.Test && dataset.TestSplitFrozen)
                return new ImportFileResult(image.Path, ImportFileStatus.Rejected, "the test split is frozen; no image can be added to it", image.ClassName);

            int width, height;
            byte[] thumbnail;
            ulong perceptualHash;
            try
            {
                using var decoded = ImageDecoder.Decode(image.Data, image.Path, options.Value.MaxImagePixels);
                (width, height) = (decoded.Width, decoded.Height);
                thumbnail = ImageDigest.Thumbnail(decoded);
                perceptualHash = ImageDigest.DifferenceHash(decoded);
            }
            catch (ImageDecodeException e)
            {
                return new ImportFileResult(image.Path, ImportFileStatus.Rejected, e.Reason, image.ClassName, image.ClassNote);
            }

            if (!byName.TryGetValue(image.ClassName, out var datasetClass))
            {
                datasetClass = new DatasetClass { DatasetId = dataset.Id, Name = image.ClassName, Ordinal = nextOrdinal++ };
                db.DatasetClasses.Add(datasetClass);
                byName[image.ClassName] = datasetClass;
                newClasses.Add(image.ClassName);
            }
            // A file is written whole or not at all; cancellation waits for the next file.
            await store.SaveAsync(sha, image.Data, thumbnail, CancellationToken.None);
            db.DatasetImages.Add(new DatasetImage
            {
                DatasetId = dataset.Id,
                Sha256 = sha,
                Class = datasetClass,
                Split = split,
                OriginalName = image.Path.Length > DatasetImage.OriginalNameMaxLength ? image.Path[^DatasetImage.OriginalNameMaxLength..] : image.Path,
                Width = width,
                PerceptualHash = unchecked((long)perceptualHash),
                Height = height,
                AddedByUserId = userId,
                AddedAt = clock.GetUtcNow().UtcDateTime,
            });
            known[sha] = image.Path;
            pending++;
            used.Add(image.ClassName);
            return new ImportFileResult(image.Path, ImportFileStatus.Accepted, "", image.ClassName, image.ClassNote);
        }
    }

    /// <summary>The summary of how class names were read: each folder read under another name (with its file count),
    /// and each class this import added to that differs from another class only by case (they stay apart).</summary>
    private static List<string> Notes(List<ImportFileResult> results, IEnumerable<string> classes, HashSet<string> used)
    {
        var notes = results.Where(r => r.Note is not null).GroupBy(r => r.Note!, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {DatasetEvents.Count(g.Count(), "file")}").ToList();
        var all = classes.ToList();
        foreach (var group in all.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1 && g.Any(used.Contains)))
            notes.Add($"classes {string.Join(", ", group.Order(StringComparer.Ordinal).Select(c => $"\"{c}\""))} differ only by case " +
                "and are kept apart (class names are case-sensitive)");
        return notes;
    }

    /// <summary>Whether the file is, or may be, an image: accepted, a duplicate, or rejected for anything but its bytes
    /// (not a supported image, a nested archive, empty); a file outside any class folder was not read, so its extension
    /// decides.</summary>
    private static bool MayBeImage(ImportFileResult file) => file.Status switch
    {
        ImportFileStatus.Accepted => true,
        ImportFileStatus.Ignored => false,
        // A file named like an image that does not decode is reported per file (its name and the decoder's reason say
        // more than "no images"); other unreadable files do not make the archive one of images.
        _ when file.Reason.Contains(ImageDecoder.SupportedFormats, StringComparison.Ordinal) => ImageExtensions.Contains(Path.GetExtension(file.Path)),
        _ when file.Reason.StartsWith("nested archive", StringComparison.Ordinal) || file.Reason == "empty file (0 bytes)" => false,
        _ when file.Reason.StartsWith("not inside a class folder", StringComparison.Ordinal) => ImageExtensions.Contains(Path.GetExtension(file.Path)),
        _ => true,
    };

    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib" };
}
