using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Workers;

/// <summary>How often the worker monitor checks workers (section "Workers:Health").</summary>
public sealed class WorkerHealthOptions
{
    public const string Section = "Workers:Health";

    /// <summary>Seconds between checks of a worker that answered last time.</summary>
    [Range(0.2, 600)]
    public double IntervalSeconds { get; set; } = 5;

    /// <summary>Longest pause between checks of a worker that keeps not answering (the pause doubles from the interval).</summary>
    [Range(1, 3600)]
    public double MaxBackoffSeconds { get; set; } = 15;
}

/// <summary>
/// Keeps the site's view of its workers current without anyone opening a page: every enabled worker is checked on a
/// schedule (gRPC health + GetInfo through the gateway, <see cref="WorkerHealthOptions"/>; a worker that does not answer
/// is checked again after doubling pauses), its state and last-seen time are stored, and every change — online,
/// offline, what it offers, which runs it is busy with — is pushed to open Workers pages (<see cref="Changed"/>).
/// The launch form reads what workers offer from here instead of asking them on its circuit.
/// </summary>
public sealed class WorkerMonitor(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    IServiceScopeFactory scopes,
    IOptions<WorkerHealthOptions> options,
    TimeProvider clock,
    ILogger<WorkerMonitor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<int, WorkerDescription> _described = new();
    private readonly Dictionary<int, (DateTime Due, int Misses, string Fingerprint)> _schedule = [];

    /// <summary>Something about the workers changed (state, offer, current runs); it is stored already.</summary>
    public event Action? Changed;

    /// <summary>What each worker said the last time it answered, by worker id (empty until the first check).</summary>
    public IReadOnlyDictionary<int, WorkerDescription> Described => _described;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.IntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckDueAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "The worker health check failed; trying again");
            }
            try
            {
                await Task.Delay(interval / 2, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Checks every enabled worker whose turn it is; publishes when anything a page shows changed.</summary>
    internal async Task CheckDueAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var workers = await db.Workers.Where(w => w.Enabled).ToListAsync(cancellationToken);
        var running = (await db.Jobs.Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing)
                && j.WorkerId != null).Select(j => new { WorkerId = j.WorkerId!.Value, j.Id }).ToListAsync(cancellationToken))
            .ToLookup(j => j.WorkerId, j => j.Id);
        var now = clock.GetUtcNow().UtcDateTime;
        var changed = false;
        await using var scope = scopes.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<WorkerRegistryService>();
        foreach (var worker in workers)
        {
            var (due, misses, before) = _schedule.GetValueOrDefault(worker.Id, (DateTime.MinValue, 0, ""));
            if (now < due) continue;
            var contact = await registry.ContactAsync(worker, cancellationToken);
            if (contact.Info is { } info) _described[worker.Id] = info;
            misses = contact.Ok ? 0 : misses + 1;
            var pause = contact.Ok ? options.Value.IntervalSeconds
                : Math.Min(options.Value.MaxBackoffSeconds, options.Value.IntervalSeconds * Math.Pow(2, misses - 1));
            var fingerprint = $"{worker.Status}|{worker.Backbones}|{worker.Capacity}|{string.Join(",", running[worker.Id].Order())}";
            changed |= fingerprint != before;
            _schedule[worker.Id] = (now + TimeSpan.FromSeconds(pause), misses, fingerprint);
        }
        foreach (var gone in _schedule.Keys.Except(workers.Select(w => w.Id)).ToList())
        {
            _schedule.Remove(gone);
            _described.TryRemove(gone, out _);
            changed = true;
        }
        await db.SaveChangesAsync(cancellationToken);
        Telemetry.Telemetry.SetWorkers(workers);
        if (changed) Publish();
    }

    /// <summary>Tells open pages now (a worker was registered, enabled, drained or removed).</summary>
    public void Publish()
    {
        foreach (var handler in (Changed?.GetInvocationList() ?? []).Cast<Action>())
        {
            try
            {
                handler();
            }
            catch (Exception e)
            {
                logger.LogDebug(e, "A workers page failed to update");
            }
        }
    }
}
