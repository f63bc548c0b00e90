using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Workers;

namespace TransferHub.Integration.Tests;

public sealed class WorkerConnectionTests : IDisposable
{
    private readonly WorkerHost _worker = new();
    private readonly WebHost _web;

    public WorkerConnectionTests() => _web = new WebHost(_worker);

    public void Dispose()
    {
        _web.Dispose();
        _worker.Dispose();
    }

    [Fact]
    public async Task TestConnectionReachesTheRealWorkerAndRecordsWhatItOffers()
    {
        var admin = await _web.CreateAdminAsync();
        var local = await _web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().ListAsync(admin));
        var worker = Assert.Single(local, w => w.IsLocal);

        var result = await _web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().TestConnectionAsync(admin, worker.Id));

        Assert.True(result.Ok, result.Message);
        Assert.Contains("integration-worker", result.Message);
        var after = Assert.Single(await _web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().ListAsync(admin)), w => w.IsLocal);
        Assert.Equal(("online", "cpu"), (after.State, after.DeviceKind));
        Assert.Contains("resnet18x3-imagenet", after.Backbones);
        Assert.NotNull(after.LastSeenAt);
        Assert.Null(after.LastError);
    }

    [Fact]
    public async Task AWrongTokenIsReportedAsSuch()
    {
        var admin = await _web.CreateAdminAsync();
        var id = await _web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>()
            .RegisterAsync(admin, "wrong-token", WebHost.WorkerAddress, "not-the-worker-token-123"));

        var result = await _web.InScopeAsync(s => s.GetRequiredService<WorkerRegistryService>().TestConnectionAsync(admin, id));

        Assert.False(result.Ok);
        Assert.Contains("refused the token", result.Message);
    }
}
