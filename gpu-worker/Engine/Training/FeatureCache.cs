using System.Runtime.InteropServices;
using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Training;

/// <summary>
/// Pooled backbone features per (backbone name, weights content hash, image size, resize mode, image hash), on disk,
/// so a frozen backbone runs over each image once — across epochs and across jobs. Keyed by the weights' SHA-256,
/// a weights file replaced under the same name never serves the old file's features.
/// </summary>
public sealed class FeatureCache(string root)
{
    /// <summary>The cache key (a relative folder) of one backbone's weights at one input size and resize mode.</summary>
    /// <param name="weightsSha256">the SHA-256 (hex) of the weights the features were computed with</param>
    /// <param name="view">null: the image as rendered; "hflip": its horizontal flip (autopilot's second view)</param>
    public static string Key(string backbone, string weightsSha256, int size, ResizeMode resize, string? view = null) =>
        $"{backbone}/{weightsSha256}/{size}px-{resize}{(view is null ? "" : "-" + view)}".ToLowerInvariant();

    public float[]? TryGet(string key, string sha256)
    {
        var path = PathOf(key, sha256);
        if (!File.Exists(path))
        {
            Telemetry.FeatureCacheMisses.Add(1);
            return null;
        }
        Telemetry.FeatureCacheHits.Add(1);
        var bytes = File.ReadAllBytes(path);
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    public void Put(string key, string sha256, ReadOnlySpan<float> features)
    {
        var path = PathOf(key, sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Environment.CurrentManagedThreadId + ".tmp";
        File.WriteAllBytes(temp, MemoryMarshal.AsBytes(features).ToArray());
        File.Move(temp, path, overwrite: true);
    }

    private string PathOf(string key, string sha256) => Path.Combine(root, key, sha256[..2], sha256 + ".f32");
}
