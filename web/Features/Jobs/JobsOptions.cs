using System.ComponentModel.DataAnnotations;

namespace TransferHub.Web.Features.Jobs;

/// <summary>How the scheduler runs jobs (section "Jobs"), validated at start.</summary>
public sealed class JobsOptions : IValidatableObject
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

    /// <summary>Seconds a web instance holds a run it dispatched or took over (ADR 034) without renewing it. Another
    /// instance takes the run over (re-attaching through WatchJob) once this has passed since the holder's last renewal,
    /// so it is also how long a run goes unfollowed after its instance dies. Keep it well above the longest pause an
    /// instance may take (a full garbage collection, a stalled disk) plus the clock difference between the machines.</summary>
    [Range(1, 3600)]
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>How often an instance renews the leases of the runs it follows; at most half of
    /// <see cref="LeaseSeconds"/>, so one missed renewal never loses a lease.</summary>
    [Range(0.1, 1800)]
    public double LeaseRenewSeconds { get; set; } = 10;

    /// <summary>Whether a stopping instance hands its runs back at once (true: another instance, or this one after a
    /// restart, follows them on its next pass). False leaves them to expire, as a crashed instance does; the scale-out
    /// integration test plays a crash this way.</summary>
    public bool ReleaseLeasesOnStop { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LeaseRenewSeconds * 2 > LeaseSeconds)
            yield return new ValidationResult($"Jobs:LeaseRenewSeconds ({LeaseRenewSeconds}) must be at most half of Jobs:LeaseSeconds ({LeaseSeconds}), " +
                "so that one missed renewal does not lose a run to another instance.", [nameof(LeaseRenewSeconds), nameof(LeaseSeconds)]);
    }
}
