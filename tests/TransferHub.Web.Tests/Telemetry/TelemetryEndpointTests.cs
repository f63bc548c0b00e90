using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Telemetry;

/// <summary>issue 15: telemetry is off unless configured; with Telemetry:Prometheus on, /metrics serves the
/// TransferHub metrics in the Prometheus text format.</summary>
public sealed class TelemetryEndpointTests
{
    public sealed class PrometheusOn : WebAppFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Telemetry:Prometheus"] = "true",
            ["Workers:Health:IntervalSeconds"] = "0.2",
        };
    }

    [Fact]
    public async Task ByDefaultNoMetricsEndpointIsMappedAndOpenTelemetryIsNotRegistered()
    {
        using var app = new WebAppFactory();
        var anonymous = app.CreateClient(new() { AllowAutoRedirect = false });

        var response = await anonymous.GetAsync("metrics");

        Assert.DoesNotContain(app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>(),
            e => e.RoutePattern.RawText?.TrimStart('/') == "metrics");
        Assert.DoesNotContain("# TYPE", await response.Content.ReadAsStringAsync());
        Assert.Null(app.Services.GetService<MeterProvider>());
    }

    [Fact]
    public async Task WithPrometheusOnMetricsAnswersAnonymouslyWithTheWorkersByState()
    {
        using var app = new PrometheusOn();
        var anonymous = app.CreateClient(new() { AllowAutoRedirect = false });
        await using (var scope = app.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<WorkerRegistryService>()
                .RegisterLocalAsync("unreachable", "http://127.0.0.1:9", "token-0123456789abcdef");

        // The worker monitor checks the new worker (it does not answer) within its 0.2 s interval.
        var text = "";
        for (var tries = 0; tries < 50 && !text.Contains("transferhub_workers{"); tries++)
        {
            await Task.Delay(200);
            var response = await anonymous.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
            text = await response.Content.ReadAsStringAsync();
        }

        Assert.Contains("# TYPE transferhub_workers gauge", text);
        Assert.Matches(@"transferhub_workers\{[^}]*transferhub_worker_state=""(offline|unknown)""[^}]*\} 1", text);
    }
}
