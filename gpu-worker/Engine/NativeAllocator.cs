using System.Runtime.InteropServices;

namespace TransferHub.Worker.Engine;

/// <summary>
/// glibc <c>malloc</c> settings for libtorch's CPU tensors (issue 16 goal 2). libtorch's CPU allocator calls
/// <c>malloc</c>/<c>free</c> for every activation and gradient, and glibc's defaults give the freed megabytes back to the
/// system at once (its trim threshold follows the mmap threshold, at most 64 MB), so every training step faults the
/// same pages in again and the kernel zeroes them: 4.9–6.0 million minor page faults in a 3-epoch 224 px fine-tune of
/// Tux Paint, against 3.1 million with these settings and 1.8–3.0 million with a 1 GiB trim threshold, which raised
/// peak RSS to 2.7–2.9 GB (docs/benchmarks.md). Blocks below
/// <see cref="MmapThresholdBytes"/> come from the heap, and up to <see cref="TrimThresholdBytes"/> of free heap stays
/// mapped between steps; blocks above it (a 224 px batch's first activations, ≈ 100 MB) are still mapped and unmapped
/// each time, as glibc cannot serve larger blocks from a thread's arena without it. The memory kept is given back
/// after each job by <c>MemoryRelease.AfterJob</c>'s <c>malloc_trim(0)</c>.
/// The same settings as the <c>GLIBC_TUNABLES</c> <c>glibc.malloc.mmap_threshold</c>, <c>trim_threshold</c> and
/// <c>top_pad</c>, set at run time through <c>mallopt</c>(3).
/// </summary>
public static class NativeAllocator
{
    /// <summary>Blocks of at least this many bytes are mapped on their own (glibc's maximum for the dynamic threshold).</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>Free heap above this many bytes is returned to the system; below it, it is reused without page faults.</summary>
    public const int TrimThresholdBytes = 256 << 20;

    /// <summary>Extra bytes requested whenever the heap grows, so that it grows in few steps.</summary>
    public const int TopPadBytes = 64 << 20;

    private const int MTrimThreshold = -1, MTopPad = -2, MMmapThreshold = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    /// <summary>Applies the settings; true when glibc accepted all three, false elsewhere (not Linux, or not glibc).
    /// Safe to call more than once and from any thread.</summary>
    public static bool Configure()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // Each call returns 1 on success, 0 on error.
            return (Mallopt(MMmapThreshold, MmapThresholdBytes) & Mallopt(MTrimThreshold, TrimThresholdBytes) & Mallopt(MTopPad, TopPadBytes)) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl): its allocator has no such settings
        }
    }
}
