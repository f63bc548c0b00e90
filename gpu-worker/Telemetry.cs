using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TransferHub.Worker;

/// <summary>
/// The worker's traces and metrics, written with System.Diagnostics only; OpenTelemetry exports them when
/// Telemetry:OtlpEndpoint is set (<see cref="AddWorkerTelemetry"/>). Spans: <c>transferhub.job</c> (one training job,
/// a child of the web's <c>transferhub.run.dispatch</c> through the W3C trace context of the StartJob call) with one
/// <c>transferhub.job.epoch</c> per epoch. Metrics: feature-cache hits and misses (hit ratio = hits / (hits + misses)),
/// jobs by outcome.
/// </summary>
public static class Telemetry
{
    public const string Name = "TransferHub.Worker";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> FeatureCacheHits = Meter.CreateCounter<long>("transferhub.feature_cache.hits", "{image}",
        "Pooled backbone features read from the on-disk feature cache.");
    public static readonly Counter<long> FeatureCacheMisses = Meter.CreateCounter<long>("transferhub.feature_cache.misses", "{image}",
        "Feature-cache lookups that found nothing (the backbone runs over the image).");
    public static readonly Counter<long> PredictModelLoads = Meter.CreateCounter<long>("transferhub.predict.model_loads", "{model}",
        "Model files read and loaded for Predict/Explain (a model not in the loaded-model cache).");
    public static readonly Counter<long> PredictModelHits = Meter.CreateCounter<long>("transferhub.predict.model_hits", "{request}",
        "Predict/Explain requests answered by a model already loaded.");
    public static readonly Counter<long> PredictModelEvictions = Meter.CreateCounter<long>("transferhub.predict.model_evictions", "{model}",
        "Loaded models dropped to stay within Worker:LoadedModelsMegabytes.");
    public static readonly Counter<long> Jobs = Meter.CreateCounter<long>("transferhub.worker.jobs", "{job}",
        "Jobs this worker ended, by outcome (transferhub.job.outcome: completed, diverged, cancelled, rejected, out_of_memory, failed).");

    /// <summary>Registers OpenTelemetry when Telemetry:OtlpEndpoint is set (empty = off): traces of <see cref="Source"/>
    /// and incoming gRPC calls (which continue the caller's trace), metrics, and logs with scopes (job id).</summary>
    /// <exception cref="InvalidOperationException">the endpoint is not an absolute http(s) URI.</exception>
    public static void AddWorkerTelemetry(this WebApplicationBuilder builder)
    {
        var value = builder.Configuration["Telemetry:OtlpEndpoint"];
        if (string.IsNullOrWhiteSpace(value)) return;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new InvalidOperationException($"Telemetry:OtlpEndpoint must be an absolute http(s) address such as http://localhost:4317, not '{value}'.");
        var service = builder.Configuration["Telemetry:ServiceName"] is { Length: > 0 } name ? name : "transferhub-worker";
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(service))
            .WithTracing(tracing => tracing.AddSource(Name).AddAspNetCoreInstrumentation().AddOtlpExporter(o => o.Endpoint = endpoint))
            .WithMetrics(metrics => metrics.AddMeter(Name).AddOtlpExporter(o => o.Endpoint = endpoint))
            .WithLogging(logging => logging.AddOtlpExporter(o => o.Endpoint = endpoint), logging =>
            {
                logging.IncludeScopes = true;
                logging.IncludeFormattedMessage = true;
            });
    }

    /// <summary>The trace context a StartJob call came with: the server span when ASP.NET Core made one, else the
    /// caller's <c>traceparent</c> header itself (default when there is none).</summary>
    public static ActivityContext CallerContext(string? traceparent, string? tracestate) =>
        Activity.Current?.Context is { } current && current != default ? current
        : ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var parsed) ? parsed : default;
}
