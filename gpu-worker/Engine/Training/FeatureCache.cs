using System.Runtime.InteropServices;

namespace TransferHub.Worker.Engine.Training;

/// <summary>
/// Pooled backbone features per (backbone, image size, resize mode, image hash), on disk, so a frozen
/// backbone runs over each image once — across epochs and across jobs.
/// </summary>
public sealed class FeatureCache(string root)
{
    public float[]? TryGet(string key, string sha256)
    {
        var path = PathOf(key, sha256);
        if (!File.Exists(path)) return null;
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
