using System.Diagnostics;
using System.Diagnostics.Metrics;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Telemetry;

/// <summary>
/// The web app's traces and metrics, written with System.Diagnostics only (<see cref="ActivitySource"/>,
/// <see cref="Meter"/>); OpenTelemetry collects them only when <see cref="TelemetryOptions"/> turns an exporter on
/// (<see cref="TelemetryExtensions"/>). Names follow the OpenTelemetry semantic-convention style
/// (<c>transferhub.runs.completed</c>, durations in seconds with unit <c>s</c>).
/// </summary>
public static class Telemetry
{
    /// <summary>The name of the web's <see cref="ActivitySource"/> and <see cref="Meter"/>.</summary>
    public const string Name = "TransferHub.Web";

    /// <summary>Spans: <c>transferhub.run.dispatch</c> (one attempt of a run, from assignment to its end state) with
    /// children <c>transferhub.run.image_sync</c> and <c>transferhub.run.model_copy</c>; the gRPC calls made inside
    /// carry the W3C trace context to the worker, whose <c>transferhub.job</c> span continues the trace.</summary>
    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public const string RunIdTag = "transferhub.run.id";
    public const string WorkerTag = "transferhub.worker.name";

    public static readonly Counter<long> RunsQueued = Meter.CreateCounter<long>("transferhub.runs.queued", "{run}", "Runs put in the queue (new or re-queued).");
    public static readonly Counter<long> RunsStarted = Meter.CreateCounter<long>("transferhub.runs.started", "{run}", "Run attempts assigned to a worker.");
    public static readonly UpDownCounter<long> RunsRunning = Meter.CreateUpDownCounter<long>("transferhub.runs.running", "{run}",
        "Runs this web app follows on workers now (starting, running or copying their model).");
    public static readonly Counter<long> RunsCompleted = Meter.CreateCounter<long>("transferhub.runs.completed", "{run}", "Runs completed with their model stored.");
    public static readonly Counter<long> RunsFailed = Meter.CreateCounter<long>("transferhub.runs.failed", "{run}", "Runs that ended failed.");
    public static readonly Counter<long> RunsDiverged = Meter.CreateCounter<long>("transferhub.runs.diverged", "{run}", "Runs whose loss diverged.");
    public static readonly Counter<long> RunsCancelled = Meter.CreateCounter<long>("transferhub.runs.cancelled", "{run}", "Runs cancelled.");
    public static readonly Counter<long> RunsWorkerLost = Meter.CreateCounter<long>("transferhub.runs.worker_lost", "{run}", "Runs that ended because their worker was lost.");

    public static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("transferhub.runs.queue_wait", "s",
        "Seconds from queueing a run to its first assignment to a worker.");
    public static readonly Histogram<double> EpochDuration = Meter.CreateHistogram<double>("transferhub.runs.epoch.duration", "s",
        "Seconds of one training epoch, as the worker measured it.");
    public static readonly Histogram<double> EpochThroughput = Meter.CreateHistogram<double>("transferhub.runs.epoch.throughput", "{image}/s",
        "Training images per second in one epoch.");

    public static readonly Counter<long> ImportFiles = Meter.CreateCounter<long>("transferhub.imports.files", "{file}", "Files looked at by dataset imports.");
    public static readonly Histogram<double> ImportThroughput = Meter.CreateHistogram<double>("transferhub.imports.throughput", "{file}/s",
        "Files per second of one dataset import.");

    private static volatile IReadOnlyDictionary<string, int> s_workers = new Dictionary<string, int>();

    static Telemetry()
    {
        Meter.CreateObservableGauge("transferhub.workers", ObserveWorkers, "{worker}",
            "Enabled workers by state (online, offline, unknown, draining) at the worker monitor's last check.");
    }

    /// <summary>Counts a run that reached an end state (completed, failed, diverged, cancelled, worker lost).</summary>
    public static void RunEnded(JobStatus status, string? worker)
    {
        var counter = status switch
        {
            JobStatus.Completed => RunsCompleted,
            JobStatus.Failed => RunsFailed,
            JobStatus.Diverged => RunsDiverged,
            JobStatus.Cancelled => RunsCancelled,
            JobStatus.WorkerLost => RunsWorkerLost,
            _ => null,
        };
        counter?.Add(1, new KeyValuePair<string, object?>(WorkerTag, worker));
    }

    /// <summary>The worker monitor's latest view: enabled workers by state.</summary>
    public static void SetWorkers(IEnumerable<WorkerNode> workers) =>
        s_workers = workers.GroupBy(w => w.Draining ? "draining" : w.Status.ToString().ToLowerInvariant())
            .ToDictionary(g => g.Key, g => g.Count());

    private static IEnumerable<Measurement<int>> ObserveWorkers() =>
        s_workers.Select(s => new Measurement<int>(s.Value, new KeyValuePair<string, object?>("transferhub.worker.state", s.Key)));
}
