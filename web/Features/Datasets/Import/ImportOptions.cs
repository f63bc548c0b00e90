using System.ComponentModel.DataAnnotations;

namespace TransferHub.Web.Features.Datasets.Import;

/// <summary>Limits on uploads (section "Import"), validated at start and shown to users on the upload page.</summary>
public sealed class ImportOptions
{
    public const string Section = "Import";

    /// <summary>Largest upload (a zip, or the sum of the images dropped at once).</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest single image.</summary>
    [Range(1, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest total size of an archive's files once unpacked.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUnpackedBytes { get; set; } = 8L * 1024 * 1024 * 1024;

    /// <summary>Largest ratio of a file's unpacked to packed size; more is treated as a zip bomb.</summary>
    [Range(1, 100_000)]
    public double MaxCompressionRatio { get; set; } = 200;

    [Range(1, 10_000_000)]
    public int MaxFilesPerArchive { get; set; } = 100_000;

    /// <summary>Largest image, in pixels (width × height).</summary>
    [Range(1, 1_000_000_000)]
    public long MaxImagePixels { get; set; } = 64_000_000;
}
