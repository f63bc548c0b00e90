using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TransferHub.Web.Features.Telemetry;

/// <summary>Where the web's telemetry goes (section "Telemetry"). Both are off by default: then OpenTelemetry is not
/// even registered and the <see cref="Telemetry"/> instruments cost next to nothing.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>An OTLP/gRPC collector, e.g. <c>http://localhost:4317</c>: traces, metrics and logs (with their scopes:
    /// run id, worker) go there. Empty = off.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>True: metrics are served in the Prometheus text format at <see cref="PrometheusPath"/> (no sign-in:
    /// expose it to the scraper's network only).</summary>
    public bool Prometheus { get; set; }

    /// <summary>The scrape path when <see cref="Prometheus"/> is on.</summary>
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>The OpenTelemetry service.name of this app.</summary>
    public string ServiceName { get; set; } = "transferhub-web";
}

public static class TelemetryExtensions
{
    /// <summary>Registers OpenTelemetry when an exporter is configured: traces of the web's <see cref="Telemetry.Source"/>,
    /// incoming HTTP requests and outgoing gRPC calls (W3C trace context is sent to workers either way, see
    /// <see cref="Workers.Gateway.WorkerClientFactory"/>); the web's metrics plus ASP.NET Core's; logs with scopes.</summary>
    /// <exception cref="InvalidOperationException">Telemetry:OtlpEndpoint is not an absolute http(s) URI.</exception>
    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddSingleton(options);
        var otlp = Endpoint(options.OtlpEndpoint);
        if (otlp is null && !options.Prometheus) return;

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Telemetry.Name).AddAspNetCoreInstrumentation();
                if (otlp is not null) metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                if (options.Prometheus) metrics.AddPrometheusExporter();
            });
        if (otlp is null) return;
        telemetry
            .WithTracing(tracing => tracing.AddSource(Telemetry.Name).AddAspNetCoreInstrumentation()
                .AddSource(Workers.Gateway.WorkerClientFactory.ClientActivitySource).AddOtlpExporter(o => o.Endpoint = otlp))
            .WithLogging(logging => logging.AddOtlpExporter(o => o.Endpoint = otlp), logging =>
            {
                logging.IncludeScopes = true;
                logging.IncludeFormattedMessage = true;
            });
    }

    /// <summary>Maps the Prometheus scrape endpoint when Telemetry:Prometheus is on.</summary>
    public static void MapTelemetry(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<TelemetryOptions>();
        if (options.Prometheus) app.MapPrometheusScrapingEndpoint(options.PrometheusPath).AllowAnonymous();
    }

    private static Uri? Endpoint(string value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        throw new InvalidOperationException($"Telemetry:OtlpEndpoint must be an absolute http(s) address such as http://localhost:4317, not '{value}'.");
    }
}
