using System.ComponentModel.DataAnnotations;
using TransferHub.Imaging;

namespace TransferHub.Web.Storage;

/// <summary>Where the web keeps files (section "Storage"), validated at start.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Root folder for images, thumbnails and models; relative paths are under the content root.</summary>
    [Required]
    public string Root { get; set; } = "../data/web/storage";
}

/// <summary>
/// Image bytes and their thumbnails on disk, content-addressed by the SHA-256 of the bytes: an image is stored
/// once however many datasets hold it. Files are written through a temporary name and moved into place, so a
/// crash never leaves half a file under a hash. Safe for several processes writing to one shared root (ADR 034): each
/// write has its own temporary file in the target's folder (a rename within one file system is atomic), and the move
/// never replaces a file: when another writer stored the same hash first, its file (the same bytes) stays and this
/// writer's copy is deleted.
/// </summary>
public sealed class ImageStore
{
    private readonly string _images;
    private readonly string _thumbnails;

    public ImageStore(string root)
    {
        _images = Path.Combine(root, "images");
        _thumbnails = Path.Combine(root, "thumbnails");
        Directory.CreateDirectory(_images);
        Directory.CreateDirectory(_thumbnails);
    }

    public bool Contains(string sha256) => File.Exists(ImagePath(sha256));

    public async Task SaveAsync(string sha256, ReadOnlyMemory<byte> image, ReadOnlyMemory<byte> thumbnail, CancellationToken cancellationToken = default)
    {
        await WriteOnceAsync(ImagePath(sha256), image, cancellationToken);
        await WriteOnceAsync(ThumbnailPath(sha256), thumbnail, cancellationToken);
    }

    public Stream OpenImage(string sha256) => File.OpenRead(ImagePath(sha256));

    public Stream OpenThumbnail(string sha256) => File.OpenRead(ThumbnailPath(sha256));

    public Task<byte[]> ReadImageAsync(string sha256, CancellationToken cancellationToken = default) =>
        File.ReadAllBytesAsync(ImagePath(sha256), cancellationToken);

    private string ImagePath(string sha256) => Path.Combine(_images, Shard(sha256), sha256);

    private string ThumbnailPath(string sha256) => Path.Combine(_thumbnails, Shard(sha256), sha256 + ".jpg");

    private static string Shard(string sha256)
    {
        if (!ContentHash.IsSha256(sha256))
            throw new ArgumentException($"'{sha256}' is not a lower-case SHA-256.", nameof(sha256));
        return sha256[..2];
    }

    private static async Task WriteOnceAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (File.Exists(path)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllBytesAsync(temp, data, cancellationToken);
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another writer (thread or process) stored the same content first: the existing file wins.
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
