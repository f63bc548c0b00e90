using System.ComponentModel.DataAnnotations;

namespace TransferHub.Web.Features.Jobs;

/// <summary>How the scheduler runs jobs (section "Jobs"), validated at start.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>How often queued jobs are matched to workers when nothing wakes the scheduler sooner.</summary>
    [Range(0.05, 60)]
    public double PollSeconds { get; set; } = 2;

    /// <summary>After a worker's event stream breaks, how many times to re-attach (WatchJob) before the job is
    /// marked "worker lost".</summary>
    [Range(0, 100)]
    public int ReattachAttempts { get; set; } = 3;

    [Range(0, 600)]
    public double ReattachDelaySeconds { get; set; } = 2;

    /// <summary>Tries to copy a trained run's model from its worker (pauses start at ReattachDelaySeconds and double)
    /// before the run is marked "worker lost"; a run is completed only once its model is stored.</summary>
    [Range(1, 20)]
    public int ModelCopyAttempts { get; set; } = 5;

    /// <summary>How many times a job whose worker was lost is re-queued automatically (0 = the user decides).</summary>
    [Range(0, 10)]
    public int WorkerLostRetries { get; set; }

    /// <summary>Images sent per UploadImages call when syncing a dataset to a worker.</summary>
    [Range(1, 10_000)]
    public int UploadBatchImages { get; set; } = 200;
}
