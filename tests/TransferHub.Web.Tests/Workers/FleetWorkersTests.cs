using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Workers;

/// <summary>The web app with two workers listed under Workers:Fleet, as each of several web instances is configured.</summary>
public sealed class FleetWebAppFactory : WebAppFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Workers:Fleet:0:Name"] = "gpu-0", ["Workers:Fleet:0:Address"] = "http://127.0.0.1:5201", ["Workers:Fleet:0:Token"] = "fleet-token-0-0123456789",
        ["Workers:Fleet:1:Name"] = "gpu-1", ["Workers:Fleet:1:Address"] = "http://127.0.0.1:5202", ["Workers:Fleet:1:Token"] = "fleet-token-1-0123456789",
    };
}

public sealed class FleetWorkersTests(FleetWebAppFactory app) : IClassFixture<FleetWebAppFactory>
{
    [Fact]
    public async Task EveryFleetWorkerIsRegisteredOnceWithItsTokenEncryptedAndUpdatedByName()
    {
        _ = app.Services; // started: the fleet is registered
        await using var db = await app.DbAsync();
        var workers = await db.Workers.Where(w => w.Name.StartsWith("gpu-")).OrderBy(w => w.Name).ToListAsync();

        Assert.Equal(["gpu-0", "gpu-1"], workers.Select(w => w.Name));
        Assert.All(workers, w => Assert.False(w.IsLocal));
        Assert.Equal("http://127.0.0.1:5202", workers[1].Address);
        Assert.Equal("fleet-token-1-0123456789", app.Service<WorkerTokens>().Unprotect(workers[1].ProtectedToken));

        // A second instance (or a restart) with a new address updates the same row.
        using var scope = new ServiceScope(app);
        var id = await scope.Get<Features.Workers.WorkerRegistryService>().RegisterConfiguredAsync("gpu-1", "http://10.0.0.2:5101", "fleet-token-1-new-0123456789");
        Assert.Equal(workers[1].Id, id);
        await using var after = await app.DbAsync();
        Assert.Equal(2, await after.Workers.CountAsync(w => w.Name.StartsWith("gpu-")));
        Assert.Equal("http://10.0.0.2:5101", (await after.Workers.SingleAsync(w => w.Id == id)).Address);
    }
}
