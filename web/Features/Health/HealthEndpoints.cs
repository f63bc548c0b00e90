using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Health;

/// <summary>
/// Health for load balancers and orchestrators, with ASP.NET Core health checks: <c>GET /health/live</c> answers 200
/// while the process serves requests (no dependency is asked: restart only what is stuck); <c>GET /health/ready</c>
/// asks the database (EF Core, a connection and a query), the storage root (a file written and deleted) and the worker
/// fleet — 200 "Healthy", 200 "Degraded" when no enabled worker answered the monitor's last check (pages work, runs
/// wait), 503 "Unhealthy" when the database or storage fails (take the instance out of rotation). Both are anonymous
/// and say nothing beyond each check's status and a short reason.
/// </summary>
public static class HealthEndpoints
{
    private const string Ready = "ready";

    public static void AddHealth(this WebApplicationBuilder builder) => builder.Services.AddHealthChecks()
        .AddDbContextCheck<TransferHubDbContext>("database", tags: [Ready])
        .AddCheck<StorageWritableCheck>("storage", tags: [Ready])
        .AddCheck<WorkerFleetCheck>("workers", tags: [Ready]);

    public static void MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync })
            .AllowAnonymous();
    }

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }
}

/// <summary>Unhealthy unless a file can be written to and deleted from the storage root (images, models, keys).</summary>
public sealed class StorageWritableCheck(IOptions<StorageOptions> options, IHostEnvironment environment) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.Root));
        var probe = Path.Combine(root, $".health-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(root);
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy("The storage root is writable.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"The storage root cannot be written: {e.Message}");
        }
    }
}

/// <summary>Degraded when no enabled worker is online by the worker monitor's last check (runs wait in the queue);
/// healthy otherwise, also when no worker is registered yet (the site admin's to do, not the load balancer's).</summary>
public sealed class WorkerFleetCheck(IDbContextFactory<TransferHubDbContext> dbFactory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var workers = await db.Workers.Where(w => w.Enabled).Select(w => w.Status).ToListAsync(cancellationToken);
        if (workers.Count == 0) return HealthCheckResult.Healthy("No worker is enabled.");
        var online = workers.Count(s => s == WorkerStatus.Online);
        return online > 0
            ? HealthCheckResult.Healthy($"{online} of {workers.Count} enabled workers online.")
            : HealthCheckResult.Degraded($"None of the {workers.Count} enabled workers answers: runs wait in the queue.");
    }
}
