using System.Runtime.InteropServices;
using TransferHub.Worker.Engine;

namespace TransferHub.Worker.Tests;

/// <summary>The worker's glibc malloc settings: tensor-sized blocks freed after a training step are reused by the next
/// one without the kernel faulting their pages in again.</summary>
public sealed class NativeAllocatorTests
{
    /// <summary>Minor page faults of the calling thread so far (/proc/thread-self/stat, field 10).</summary>
    private static long ThreadMinorFaults()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7]); // fields after the name start at field 3 (state)
    }

    [Fact]
    public void Freed_activation_sized_blocks_are_reused_without_page_faults()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/thread-self/stat")) return; // glibc on Linux only
        Assert.True(NativeAllocator.Configure(), "glibc refused the settings");
        // A training step's pattern: several 16 MiB blocks (a 128 px batch's activations), all written, all freed.
        const int blocks = 8, bytes = 16 << 20, pages = bytes / 4096;
        var ones = new byte[bytes];
        Array.Fill(ones, (byte)1);
        void Step()
        {
            var pointers = new IntPtr[blocks];
            for (var i = 0; i < blocks; i++)
            {
                pointers[i] = Marshal.AllocHGlobal(bytes); // malloc on Unix
                Marshal.Copy(ones, 0, pointers[i], bytes); // writes every page
            }
            for (var i = 0; i < blocks; i++) Marshal.FreeHGlobal(pointers[i]);
        }
        Step(); // the first step maps the memory
        var before = ThreadMinorFaults();
        for (var step = 0; step < 5; step++) Step();
        var faults = ThreadMinorFaults() - before;
        // glibc's defaults give the 128 MiB back after each step and fault it in again: ≈ 5 × 8 × 4096 = 163,840 faults
        // (measured 163,708). With the settings the blocks are reused; a CI run saw one block faulted in again once (4,096),
        // so the bound is one whole step's worth, still a fifth of what the defaults cost.
        Assert.True(faults < blocks * pages, $"{faults} minor page faults over 5 steps (one step's blocks have {blocks * pages} pages)");
    }
}
