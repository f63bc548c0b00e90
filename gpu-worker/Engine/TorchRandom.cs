using TorchSharp;

namespace TransferHub.Worker.Engine;

/// <summary>
/// libtorch's default random generator is process-global, so concurrent jobs would draw from one stream and stop
/// being reproducible. The worker keeps every job independent of it:
/// <list type="bullet">
/// <item>what draws from it — building modules (layer initialisation) — runs under one process-wide lock, and a job
/// seeds it and builds its model as one uninterrupted section (<see cref="Seeded{T}"/>);</item>
/// <item>what draws during training — dropout — uses the job's own <see cref="torch.Generator"/>;</item>
/// <item>shuffling and augmentation sampling use <see cref="System.Random"/> seeded per job, epoch and image.</item>
/// </list>
/// So a seeded job gives the same result alone or beside other jobs (on the CPU; CUDA kernels may add their own
/// non-determinism).
/// </summary>
public static class TorchRandom
{
    private static readonly object GlobalGenerator = new();

    /// <summary>Seeds the global generator with <paramref name="seed"/> and runs <paramref name="create"/> while no
    /// other thread can draw from it (the lock is reentrant: <paramref name="create"/> may use <see cref="Exclusive{T}"/>).</summary>
    public static T Seeded<T>(long seed, Func<T> create)
    {
        lock (GlobalGenerator)
        {
            torch.manual_seed(seed);
            return create();
        }
    }

    /// <summary>Runs <paramref name="create"/>, which draws from the global generator (e.g. builds modules), so that it
    /// never lands inside another thread's <see cref="Seeded{T}"/> section.</summary>
    public static T Exclusive<T>(Func<T> create)
    {
        lock (GlobalGenerator) return create();
    }
}
