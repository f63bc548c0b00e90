namespace TransferHub.Worker.Engine.Training;

/// <summary>
/// The frozen-backbone feature throughput this worker process measured last: forward passes per second (decode
/// included) counted at 224 px, a pass at s px weighing (s/224)². Reported in <c>WorkerInfo.feature_images_per_second</c>
/// so that the web can scale auto mode's default time budget to the slowest worker
/// (<see cref="Contracts.Jobs.JobDefaults.AutoTimeBudgetFor"/>). Process-wide, like the worker's other telemetry:
/// every job on this worker shares the same CPU or GPU.
/// </summary>
public static class FeatureThroughput
{
    /// <summary>Passes shorter than this say more about start-up costs than about throughput.</summary>
    public const int MinImages = 32;

    /// <summary>Below this size decoding and per-batch costs, not the backbone, set the pace, so the (s/224)² weighting
    /// would call a fast worker slow (a 32 px pass runs far fewer than 49× the images of a 224 px one).</summary>
    public const int MinSize = 112;

    private static double _passesPerSecond;

    /// <summary>The latest measurement, or null before any feature pass of at least <see cref="MinImages"/> images.</summary>
    public static double? PassesPerSecond => Volatile.Read(ref _passesPerSecond) is > 0 and var v ? v : null;

    /// <summary>Records a feature pass: <paramref name="computed"/> images, <paramref name="views"/> forward passes each
    /// (2 with auto mode's flip), at <paramref name="size"/> px, in <paramref name="seconds"/>. Ignored below
    /// <see cref="MinImages"/> images or <see cref="MinSize"/> px, or without a positive duration.</summary>
    public static void Record(int computed, int views, int size, double seconds)
    {
        if (computed < MinImages || size < MinSize || seconds <= 0 || views < 1) return;
        var weight = (double)size * size / (224.0 * 224.0);
        Volatile.Write(ref _passesPerSecond, computed * views * weight / seconds);
    }

    /// <summary>Forgets the measurement (tests).</summary>
    internal static void Reset() => Volatile.Write(ref _passesPerSecond, 0);
}
