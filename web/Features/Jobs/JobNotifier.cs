using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>Something changed about a run (status, a new epoch, a log line) and is already persisted.</summary>
public sealed record JobUpdate(int JobId, int DatasetId, JobStatus Status);

/// <summary>
/// Tells open pages that a run changed (STYLE 13), keyed like <see cref="Datasets.Live.DatasetEvents"/>: a run page
/// subscribes to its run, a Runs page to its project. The scheduler and services publish after persisting; handlers run
/// without being awaited, so a slow or broken page never holds up training, and each handler's failure is logged and
/// goes no further than its page (pages pass it to <c>DispatchExceptionAsync</c>). A dataset's project never changes,
/// so it is looked up once per dataset.
/// </summary>
public sealed class JobNotifier(IDbContextFactory<TransferHubDbContext> dbFactory, ILogger<JobNotifier> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, List<Func<JobUpdate, Task>>> _byRun = [];
    private readonly Dictionary<int, List<Func<JobUpdate, Task>>> _byProject = [];
    private readonly ConcurrentDictionary<int, int> _projectOfDataset = new();

    /// <summary>Calls <paramref name="handler"/> for every change of run <paramref name="jobId"/> until disposed.</summary>
    public IDisposable SubscribeRun(int jobId, Func<JobUpdate, Task> handler) => Add(_byRun, jobId, handler);

    /// <summary>Calls <paramref name="handler"/> for every change of any run of the project until disposed.</summary>
    public IDisposable SubscribeProject(int projectId, Func<JobUpdate, Task> handler) => Add(_byProject, projectId, handler);

    /// <summary>How many handlers listen to a run or a project (tests and diagnostics).</summary>
    public (int Run, int Project) SubscriberCount(int jobId, int projectId)
    {
        lock (_lock) return (_byRun.GetValueOrDefault(jobId)?.Count ?? 0, _byProject.GetValueOrDefault(projectId)?.Count ?? 0);
    }

    public void Publish(JobUpdate update) => _ = PublishAsync(update);

    private async Task PublishAsync(JobUpdate update)
    {
        Func<JobUpdate, Task>[] forRun;
        lock (_lock) forRun = _byRun.TryGetValue(update.JobId, out var list) ? [.. list] : [];
        foreach (var handler in forRun) _ = RunAsync(handler, update);

        bool anyProjectSubscriber;
        lock (_lock) anyProjectSubscriber = _byProject.Count > 0;
        if (!anyProjectSubscriber) return;
        int projectId;
        try
        {
            projectId = await ProjectOfAsync(update.DatasetId);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not tell the project of run {JobId}'s dataset {DatasetId}", update.JobId, update.DatasetId);
            return;
        }
        Func<JobUpdate, Task>[] forProject;
        lock (_lock) forProject = _byProject.TryGetValue(projectId, out var list) ? [.. list] : [];
        foreach (var handler in forProject) _ = RunAsync(handler, update);
    }

    private async Task<int> ProjectOfAsync(int datasetId)
    {
        if (_projectOfDataset.TryGetValue(datasetId, out var cached)) return cached;
        await using var db = await dbFactory.CreateDbContextAsync();
        var projectId = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.ProjectId).FirstAsync();
        return _projectOfDataset[datasetId] = projectId;
    }

    private IDisposable Add(Dictionary<int, List<Func<JobUpdate, Task>>> handlers, int key, Func<JobUpdate, Task> handler)
    {
        lock (_lock)
        {
            if (!handlers.TryGetValue(key, out var list)) handlers[key] = list = [];
            list.Add(handler);
        }
        return new Subscription(() =>
        {
            lock (_lock)
            {
                if (handlers.TryGetValue(key, out var list) && list.Remove(handler) && list.Count == 0)
                    handlers.Remove(key);
            }
        });
    }

    private async Task RunAsync(Func<JobUpdate, Task> handler, JobUpdate update)
    {
        try
        {
            await handler(update);
        }
        catch (Exception e)
        {
            // One broken page (a closed circuit) must not stop the others or the scheduler.
            logger.LogDebug(e, "A subscriber failed for run {JobId}", update.JobId);
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}

/// <summary>A page's subscription that follows one of its route parameters: <see cref="Follow"/> on every parameter
/// set keeps exactly one subscription, for the current key (a page reused for another run or project moves along).</summary>
public sealed class FollowedSubscription : IDisposable
{
    private int? _key;
    private IDisposable? _subscription;

    public void Follow(int key, Func<int, IDisposable> subscribe)
    {
        if (_key == key) return;
        _subscription?.Dispose();
        _subscription = subscribe(key);
        _key = key;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _subscription = null;
        _key = null;
    }
}
