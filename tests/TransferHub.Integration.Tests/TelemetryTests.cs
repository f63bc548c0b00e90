using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TransferHub.Web.Data;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;
using WebTelemetry = TransferHub.Web.Features.Telemetry.Telemetry;
using WorkerTelemetry = TransferHub.Worker.Telemetry;

namespace TransferHub.Integration.Tests;

/// <summary>Runs alone: meters and activity sources are process-wide, so this test's exporters would also receive the
/// runs of other test classes' hosts running at the same time (whose run ids, each on its own database, repeat: a CI
/// run saw two dispatch spans of "run 2").</summary>
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryCollection;

/// <summary>issue 15: a real run, read back through OpenTelemetry's in-memory exporters — the run's counters and
/// histograms, and one trace from the web's dispatch to the worker's job.</summary>
[Collection(nameof(TelemetryTests))]
public sealed class TelemetryTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task ARealRunIsCountedTimedAndTracedFromTheWebsDispatchToTheWorkersJob()
    {
        var spans = new List<Activity>();
        var web = Keep(new WebHost(new WorkerSwitch(NewWorker()), folder: null, services: services => services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(WebTelemetry.Name, WorkerTelemetry.Name).AddInMemoryExporter(_metrics))
            .WithTracing(t => t.AddSource(WebTelemetry.Name, WorkerTelemetry.Name).AddInMemoryExporter(spans))));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        // The exporter adds to the list from other threads (the worker monitor's contacts trace too): read copies.
        Activity[] Spans() => spans.ToArray();

        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 3)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);
        Assert.True(web.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

        Assert.Equal(1, Sum("transferhub.runs.queued"));
        Assert.Equal(1, Sum("transferhub.runs.started"));
        Assert.Equal(1, Sum("transferhub.runs.completed"));
        Assert.Equal(0, Sum("transferhub.runs.running")); // followed while it ran, released once completed
        Assert.Null(Last("transferhub.runs.failed"));
        Assert.Null(Last("transferhub.runs.diverged"));
        var (epochs, epochSeconds) = Histogram("transferhub.runs.epoch.duration");
        Assert.Equal(3, epochs);
        Assert.Equal(job.Epochs.Sum(e => e.Seconds), epochSeconds, 6);
        Assert.Equal(3, Histogram("transferhub.runs.epoch.throughput").Count);
        var (waits, waited) = Histogram("transferhub.runs.queue_wait");
        Assert.Equal(1, waits);
        Assert.InRange(waited, 0, (job.StartedAt!.Value - job.CreatedAt).TotalSeconds + 1);
        // A fresh worker computes the features of all 20 images once (kept in memory across the run's epochs) ...
        Assert.Equal(20, Sum("transferhub.feature_cache.misses"));
        Assert.Null(Last("transferhub.feature_cache.hits"));

        var dispatch = Assert.Single(Spans(), s => s.OperationName == "transferhub.run.dispatch");
        var jobSpan = Assert.Single(Spans(), s => s.OperationName == "transferhub.job");
        Assert.Equal(id, dispatch.GetTagItem(WebTelemetry.RunIdTag));
        Assert.Equal("in-process-worker", dispatch.GetTagItem(WebTelemetry.WorkerTag));
        Assert.Equal($"run-{id}-a1", jobSpan.GetTagItem("transferhub.job.id"));
        Assert.Equal("completed", jobSpan.GetTagItem("transferhub.job.outcome"));
        Assert.Equal(dispatch.TraceId, jobSpan.TraceId);
        Assert.Equal(3, Spans().Count(s => s.OperationName == "transferhub.job.epoch" && s.ParentSpanId == jobSpan.SpanId));
        Assert.Contains(Spans(), s => s.OperationName == "transferhub.run.image_sync" && s.ParentSpanId == dispatch.SpanId);
        Assert.Contains(Spans(), s => s.OperationName == "transferhub.run.model_copy" && s.ParentSpanId == dispatch.SpanId);

        // ... and a second run on the same images reads every one from its cache: hit ratio 20 / (20 + 20).
        var second = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 1)));
        Assert.Equal(JobStatus.Completed, (await WaitForAsync(web, second, j => j.IsFinished, "an end state")).Status);
        Assert.True(web.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        Assert.Equal(20, Sum("transferhub.feature_cache.hits"));
        Assert.Equal(20, Sum("transferhub.feature_cache.misses"));
        Assert.Equal(2, Sum("transferhub.runs.completed"));
        Assert.Equal(4, Histogram("transferhub.runs.epoch.duration").Count);
        Assert.NotEqual(dispatch.TraceId, Assert.Single(Spans(), s => s.OperationName == "transferhub.run.dispatch" && s.GetTagItem(WebTelemetry.RunIdTag) is int run && run == second).TraceId);
        Output.WriteLine($"trace {dispatch.TraceId}: {string.Join(", ", Spans().Where(s => s.TraceId == dispatch.TraceId).Select(s => s.OperationName).Distinct())}");
    }

    /// <summary>What the in-memory exporter received: a snapshot of every metric at each export (cumulative).</summary>
    private readonly List<MetricSnapshot> _metrics = [];

    private MetricSnapshot? Last(string name)
    {
        lock (_metrics) return _metrics.LastOrDefault(m => m.Name == name);
    }

    private double Sum(string name)
    {
        var metric = Last(name) ?? throw new Xunit.Sdk.XunitException($"No metric {name} was exported.");
        return metric.MetricPoints.Sum(p => metric.MetricType is MetricType.LongSum or MetricType.LongSumNonMonotonic ? p.GetSumLong() : p.GetSumDouble());
    }

    private (long Count, double Sum) Histogram(string name)
    {
        var metric = Last(name) ?? throw new Xunit.Sdk.XunitException($"No metric {name} was exported.");
        return (metric.MetricPoints.Sum(p => p.GetHistogramCount()), metric.MetricPoints.Sum(p => p.GetHistogramSum()));
    }
}
