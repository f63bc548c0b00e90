using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// The SHA-256 of a weights file's content (lower-case hex), computed once per file version: results are kept per
/// (full path, length, last write time), so a 60 MB file is hashed again only when it was replaced or rewritten.
/// Thread-safe.
/// </summary>
internal static class WeightsHash
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime LastWriteUtc), string> Known = new();

    /// <summary>Where a file stands now: what a hash is kept under.</summary>
    public static (string Path, long Length, DateTime LastWriteUtc) Version(string path)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        return (info.FullName, info.Length, info.LastWriteTimeUtc);
    }

    /// <summary>The content hash of the file as it is now (64 lower-case hex digits).</summary>
    /// <exception cref="IOException">the file cannot be read</exception>
    public static string Of(string path)
    {
        var version = Version(path);
        if (Known.TryGetValue(version, out var known)) return known;
        string hash;
        using (var stream = File.OpenRead(version.Path)) hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        // Keep it only when the file did not change while it was read.
        if (Version(path) == version) Known[version] = hash;
        return hash;
    }
}
