using TransferHub.Imaging;

namespace TransferHub.Worker.Storage;

/// <summary>Images on disk, content-addressed by the SHA-256 of their bytes. Only decodable images get in.</summary>
public sealed class ImageStore
{
    private readonly string _root;
    private readonly long _maxPixels;

    public ImageStore(string root, long maxPixels)
    {
        _root = root;
        _maxPixels = maxPixels;
        Directory.CreateDirectory(_root);
    }

    public bool Contains(string sha256) => ContentHash.IsSha256(sha256) && File.Exists(PathOf(sha256));

    public IReadOnlyList<string> FindMissing(IEnumerable<string> hashes) =>
        hashes.Select(h => h.ToLowerInvariant()).Distinct().Where(h => !Contains(h)).ToList();

    /// <summary>Verifies the hash and decodes the image before storing it.</summary>
    /// <exception cref="ImageDecodeException">the bytes do not match the hash or are not a usable image</exception>
    public void Add(string sha256, string name, byte[] data)
    {
        sha256 = sha256.ToLowerInvariant();
        if (!ContentHash.IsSha256(sha256))
            throw new ImageDecodeException(name, $"'{sha256}' is not a SHA-256 hash (64 hex digits)");
        var actual = ContentHash.Of(data);
        if (actual != sha256)
            throw new ImageDecodeException(name, $"content hash is {actual}, not the announced {sha256} (transfer corrupted?)");
        using (ImageDecoder.Decode(data, name, _maxPixels)) { }
        if (Contains(sha256)) return;
        var path = PathOf(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, data);
        File.Move(temp, path, overwrite: true);
    }

    public byte[] Read(string sha256)
    {
        var path = PathOf(sha256.ToLowerInvariant());
        if (!File.Exists(path)) throw new FileNotFoundException($"Image {sha256} is not on this worker; upload it first.", path);
        return File.ReadAllBytes(path);
    }

    private string PathOf(string sha256) => Path.Combine(_root, sha256[..2], sha256);
}
