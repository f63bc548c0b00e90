using System.Runtime.InteropServices;

namespace TransferHub.Worker.Jobs;

/// <summary>
/// Gives memory back to the system after a job (issue 16 goal 3). A job's tensors are freed by dispose scopes, but
/// glibc keeps freed blocks in per-thread arenas (each job runs on a thread of its own, so a new arena may serve it)
/// and returns them only when asked: without this the worker's resident set grew by ≈ 1.6 GB over 20 fine-tunes before
/// levelling off (docs/benchmarks.md). Collects garbage (finalisers of anything left to the GC), then
/// <c>malloc_trim(0)</c> on Linux, which releases the free pages of every arena.
/// </summary>
internal static class MemoryRelease
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static void AfterJob()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): nothing to trim this way.
        }
    }
}
