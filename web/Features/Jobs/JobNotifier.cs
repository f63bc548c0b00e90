using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Instances;

namespace TransferHub.Web.Features.Jobs;

/// <summary>Something changed about a run (status, a new epoch, a log line) and is already persisted.</summary>
public sealed record JobUpdate(int JobId, int DatasetId, JobStatus Status);

/// <summary>
/// Tells open pages that a run changed (STYLE 13), keyed like <see cref="Datasets.Live.DatasetEvents"/>: a run page
/// subscribes to its run, a Runs page to its project. The scheduler and services publish after persisting; handlers run
/// without being awaited, so a slow or broken page never holds up training, and each handler's failure is logged and
/// goes no further than its page (pages pass it to <c>DispatchExceptionAsync</c>). A dataset's project never changes,
/// so it is looked up once per dataset. Every update also goes to the pages of the other web instances through the
/// <see cref="ILiveBus"/> (ADR 035): a run followed by one instance shows live on a page served by another.
/// </summary>
public sealed class JobNotifier
{
    /// <summary>The bus topic of run updates.</summary>
    public const string Topic = "run";

    private readonly IDbContextFactory<TransferHubDbContext> dbFactory;
    private readonly ILiveBus _bus;
    private readonly ILogger<JobNotifier> logger;
    private readonly KeyedHandlers<int, JobUpdate> _byRun;
    private readonly KeyedHandlers<int, JobUpdate> _byProject;
    private readonly ConcurrentDictionary<int, int> _projectOfDataset = new();

    public JobNotifier(IDbContextFactory<TransferHubDbContext> dbFactory, ILiveBus bus, ILogger<JobNotifier> logger)
    {
        (this.dbFactory, _bus, this.logger) = (dbFactory, bus, logger);
        _byRun = new(logger);
        _byProject = new(logger);
        bus.Listen(Topic, Receive);
    }

    /// <summary>Calls <paramref name="handler"/> for every change of run <paramref name="jobId"/> until disposed.</summary>
    public IDisposable SubscribeRun(int jobId, Func<JobUpdate, Task> handler) => _byRun.Subscribe(jobId, handler);

    /// <summary>Calls <paramref name="handler"/> for every change of any run of the project until disposed.</summary>
    public IDisposable SubscribeProject(int projectId, Func<JobUpdate, Task> handler) => _byProject.Subscribe(projectId, handler);

    /// <summary>How many handlers listen to a run or a project (tests and diagnostics).</summary>
    public (int Run, int Project) SubscriberCount(int jobId, int projectId) => (_byRun.Count(jobId), _byProject.Count(projectId));

    /// <summary>Tells this instance's pages of the run and its project, and those of every other instance.</summary>
    public void Publish(JobUpdate update)
    {
        PublishHere(update);
        _bus.Publish(Topic, JsonSerializer.Serialize(update));
    }

    private void PublishHere(JobUpdate update)
    {
        _byRun.Publish(update.JobId, update);
        if (_byProject.Any) _ = PublishToProjectAsync(update);
    }

    private void Receive(string payload)
    {
        try
        {
            if (JsonSerializer.Deserialize<JobUpdate>(payload) is { } update)
                PublishHere(update);
        }
        catch (JsonException e)
        {
            logger.LogWarning(e, "Ignored a malformed run update from another instance");
        }
    }

    private async Task PublishToProjectAsync(JobUpdate update)
    {
        try
        {
            _byProject.Publish(await ProjectOfAsync(update.DatasetId), update);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not tell the project of run {JobId}'s dataset {DatasetId}", update.JobId, update.DatasetId);
        }
    }

    private async Task<int> ProjectOfAsync(int datasetId)
    {
        if (_projectOfDataset.TryGetValue(datasetId, out var cached)) return cached;
        await using var db = await dbFactory.CreateDbContextAsync();
        var projectId = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.ProjectId).FirstAsync();
        return _projectOfDataset[datasetId] = projectId;
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
