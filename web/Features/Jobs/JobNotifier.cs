using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>Something changed about a run (status, a new epoch, a log line) and is already persisted.</summary>
public sealed record JobUpdate(int JobId, int DatasetId, JobStatus Status);

/// <summary>Tells open pages that a run changed. The scheduler publishes after persisting; components subscribe,
/// reload what they show through their feature service (<c>InvokeAsync</c>, not awaited here, so a slow page never
/// holds up training), and unsubscribe in Dispose (STYLE 13).</summary>
public sealed class JobNotifier(ILogger<JobNotifier> logger)
{
    public event Action<JobUpdate>? Changed;

    public void Publish(JobUpdate update)
    {
        foreach (var handler in (Changed?.GetInvocationList() ?? []).Cast<Action<JobUpdate>>())
        {
            try
            {
                handler(update);
            }
            catch (Exception e)
            {
                // One broken page (a closed circuit) must not stop the others or the scheduler.
                logger.LogDebug(e, "A job subscriber failed for run {JobId}", update.JobId);
            }
        }
    }
}
