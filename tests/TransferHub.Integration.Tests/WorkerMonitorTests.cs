using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Workers;
using Xunit.Abstractions;

namespace TransferHub.Integration.Tests;

/// <summary>issue 17: the Workers page showed a worker killed 16 s earlier as "online" until the scheduler happened to
/// contact it. The monitor checks workers on a schedule, stores what it found and tells open pages.</summary>
public sealed class WorkerMonitorTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task AKilledWorkerShowsOfflineWithinSecondsAndOnlineAgainWhenItIsBackWithoutAnyoneAsking()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null, new Dictionary<string, string>
        {
            ["Workers:Health:IntervalSeconds"] = "0.3",
            ["Workers:Health:MaxBackoffSeconds"] = "1",
        }));
        var admin = await web.CreateAdminAsync();
        var monitor = web.Services.GetRequiredService<WorkerMonitor>();
        var changes = 0;
        monitor.Changed += () => Interlocked.Increment(ref changes);

        var online = await StateAsync(web, admin, "online");
        Assert.NotNull(online.LastSeenAt);
        Assert.Contains(monitor.Described.Values, d => d.Backbones.Any(b => b.Name == "resnet18x3-imagenet"));

        var before = changes;
        worker.Kill().Dispose();
        var offline = await StateAsync(web, admin, "offline");
        Assert.Contains("Cannot reach", offline.LastError);
        Assert.True(changes > before, "open Workers pages were not told");

        worker.Current = NewWorker();
        var back = await StateAsync(web, admin, "online");
        Assert.Null(back.LastError);
        Assert.True(back.LastSeenAt > online.LastSeenAt);
    }

    private static async Task<WorkerSummary> StateAsync(WebHost web, string admin, string state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var local = Assert.Single(await web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().ListAsync(admin)), w => w.IsLocal);
            if (local.State == state) return local;
            if (DateTime.UtcNow > deadline) Assert.Fail($"The local worker stayed {local.State} ({local.LastError}) instead of becoming {state}.");
            await Task.Delay(100);
        }
    }
}
