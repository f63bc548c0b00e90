using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Tests.Api;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests;

/// <summary>issue 15: liveness and readiness for a load balancer, anonymous, with each check's status.</summary>
public sealed class HealthEndpointTests(HealthEndpointTests.NoWorker app) : IClassFixture<HealthEndpointTests.NoWorker>
{
    /// <summary>No local worker, so the fleet check depends only on what the test registers.</summary>
    public sealed class NoWorker : WebAppFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Workers:Local:Address"] = "" };
    }

    [Fact]
    public async Task LivenessAndReadinessAnswerAnonymouslyAndAFleetThatDoesNotAnswerIsDegradedNotDown()
    {
        var anonymous = app.CreateClient(new() { AllowAutoRedirect = false });

        var live = await anonymous.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());

        var ready = JsonDocument.Parse(await (await anonymous.GetAsync("health/ready")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal(["database", "storage", "workers"], ready.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());

        int workerId;
        await using (var scope = app.Services.CreateAsyncScope())
            workerId = await scope.ServiceProvider.GetRequiredService<WorkerRegistryService>()
                .RegisterLocalAsync("unreachable", "http://127.0.0.1:9", "token-0123456789abcdef");
        try
        {
            await using (var db = await app.DbAsync())
            {
                var worker = await db.Workers.FindAsync(workerId);
                worker!.Status = Web.Data.WorkerStatus.Offline;
                await db.SaveChangesAsync();
            }

            var degraded = await anonymous.GetAsync("health/ready");

            Assert.Equal(HttpStatusCode.OK, degraded.StatusCode); // pages still work; a balancer keeps the instance
            var body = JsonDocument.Parse(await degraded.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Degraded", body.GetProperty("status").GetString());
            Assert.Contains("runs wait", body.GetProperty("checks").GetProperty("workers").GetProperty("description").GetString());
        }
        finally
        {
            await using var db = await app.DbAsync();
            db.Workers.Remove((await db.Workers.FindAsync(workerId))!);
            await db.SaveChangesAsync();
        }
    }
}
