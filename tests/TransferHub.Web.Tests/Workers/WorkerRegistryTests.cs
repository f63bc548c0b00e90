using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Workers;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Workers;

/// <summary>A web app configured with a local worker (at an address where nothing listens).</summary>
public sealed class LocalWorkerWebAppFactory : WebAppFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Workers:Local:Name"] = "local-cpu",
        ["Workers:Local:Address"] = "http://127.0.0.1:9",
        ["Workers:Local:Token"] = "local-token-0123456789",
    };
}

public sealed class WorkerRegistryTests(LocalWorkerWebAppFactory app) : IClassFixture<LocalWorkerWebAppFactory>
{
    private async Task<string> AdminAsync()
    {
        var id = await app.CreateUserAsync($"admin-{Guid.NewGuid():N}@example.com");
        await app.InScopeAsync(async services =>
        {
            var users = services.GetRequiredService<UserManager<ApplicationUser>>();
            return await users.AddToRoleAsync((await users.FindByIdAsync(id))!, SiteAdmin.Role);
        });
        return id;
    }

    private Task<T> WithRegistry<T>(Func<WorkerRegistryService, Task<T>> action) =>
        app.InScopeAsync(services => action(services.GetRequiredService<WorkerRegistryService>()));

    private Task WithRegistry(Func<WorkerRegistryService, Task> action) =>
        WithRegistry(async r => { await action(r); return true; });

    [Fact]
    public async Task AWorkerRunningAJobIsListedAsBusyWithItsCurrentRun()
    {
        var admin = await AdminAsync();
        var local = Assert.Single(await WithRegistry(r => r.ListAsync(admin)), w => w.IsLocal);
        var s = await TeamScenario.CreateAsync(app);
        int jobId;
        using (var services = new ServiceScope(app))
        {
            var datasetId = await services.Datasets.CreateAsync(s.OwnerId, s.ProjectId, "Birds");
            await using var db = await app.DbAsync();
            var job = new TrainingJob
            {
                DatasetId = datasetId, Status = JobStatus.Running, WorkerId = local.Id, WorkerName = local.Name, Attempt = 1,
                SettingsJson = "{}", Backbone = "resnet18x3-imagenet", ClassNamesJson = "[]", DatasetVersion = "", CreatedAt = DateTime.UtcNow,
            };
            db.Jobs.Add(job);
            await db.SaveChangesAsync();
            jobId = job.Id;
        }

        var busy = Assert.Single(await WithRegistry(r => r.ListAsync(admin)), w => w.IsLocal);

        Assert.Equal([jobId], busy.CurrentJobs);
        Assert.Equal("busy", (busy with { Status = WorkerStatus.Online }).State);
        Assert.Equal("draining", (busy with { Status = WorkerStatus.Online, Draining = true }).State);
    }

    [Fact]
    public async Task TheConfiguredLocalWorkerIsRegisteredAtStartAndMarkedLocal()
    {
        var admin = await AdminAsync();
        var local = Assert.Single(await WithRegistry(r => r.ListAsync(admin)), w => w.IsLocal);
        Assert.Equal(("local-cpu", "http://127.0.0.1:9", "6789"), (local.Name, local.Address, local.TokenHint));
    }

    [Fact]
    public async Task AnAdminRegistersAWorkerWhoseTokenIsStoredEncryptedAndShownOnlyAsAHint()
    {
        var admin = await AdminAsync();
        var name = $"gpu-{Guid.NewGuid():N}"[..12];
        var id = await WithRegistry(r => r.RegisterAsync(admin, name, "http://gpu-01.internal:5101/", "secret-token-abcdefgh-1234"));

        var listed = Assert.Single(await WithRegistry(r => r.ListAsync(admin)), w => w.Id == id);
        Assert.Equal(("http://gpu-01.internal:5101", "1234", "not contacted yet"), (listed.Address, listed.TokenHint, listed.State));
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        var stored = await db.Workers.SingleAsync(w => w.Id == id);
        Assert.DoesNotContain("secret-token", stored.ProtectedToken);

        var duplicate = await Assert.ThrowsAsync<RuleViolationException>(() => WithRegistry(r => r.RegisterAsync(admin, name, "http://other:1", "secret-token-abcdefgh-1234")));
        Assert.Contains("already registered", duplicate.Message);
    }

    [Theory]
    [InlineData("gpu", "gpu-01:5101", "secret-token-abcdefgh", "address must look like http://host:port")]
    [InlineData("gpu", "ftp://gpu-01:21", "secret-token-abcdefgh", "address must look like http://host:port")]
    [InlineData("gpu", "http://gpu-01:5101", "short", "at least 16 characters")]
    [InlineData(" ", "http://gpu-01:5101", "secret-token-abcdefgh", "needs a name")]
    public async Task BadRegistrationsAreRefusedWithAReason(string name, string address, string token, string reason)
    {
        var admin = await AdminAsync();
        var error = await Assert.ThrowsAsync<RuleViolationException>(() => WithRegistry(r => r.RegisterAsync(admin, name, address, token)));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public async Task OnlySiteAdminsSeeOrManageWorkers()
    {
        var user = await app.CreateUserAsync($"user-{Guid.NewGuid():N}@example.com");
        await Assert.ThrowsAsync<ForbiddenException>(() => WithRegistry(r => r.ListAsync(user)));
        await Assert.ThrowsAsync<ForbiddenException>(() => WithRegistry(r => r.RegisterAsync(user, "mine", "http://x:1", "secret-token-abcdefgh")));
        var admin = await AdminAsync();
        var local = (await WithRegistry(r => r.ListAsync(admin))).Single(w => w.IsLocal);
        await Assert.ThrowsAsync<ForbiddenException>(() => WithRegistry(r => r.SetEnabledAsync(user, local.Id, false)));
        await Assert.ThrowsAsync<ForbiddenException>(() => WithRegistry(r => r.RemoveAsync(user, local.Id)));
        Assert.True((await WithRegistry(r => r.ListAsync(admin))).Single(w => w.IsLocal).Enabled);
    }

    [Fact]
    public async Task TestingAnUnreachableWorkerMarksItOfflineWithTheReason()
    {
        var admin = await AdminAsync();
        var local = (await WithRegistry(r => r.ListAsync(admin))).Single(w => w.IsLocal);

        var result = await WithRegistry(r => r.TestConnectionAsync(admin, local.Id));

        Assert.False(result.Ok);
        Assert.StartsWith("Cannot reach http://127.0.0.1:9", result.Message);
        var after = (await WithRegistry(r => r.ListAsync(admin))).Single(w => w.IsLocal);
        Assert.Equal("offline", after.State);
        Assert.Equal(result.Message, after.LastError);
    }

    [Fact]
    public async Task DisablingAndDrainingShowInTheState()
    {
        var admin = await AdminAsync();
        var id = await WithRegistry(r => r.RegisterAsync(admin, $"w-{Guid.NewGuid():N}"[..10], "http://w:1", "secret-token-abcdefgh"));
        await WithRegistry(r => r.SetDrainingAsync(admin, id, true));
        Assert.Equal("draining", (await WithRegistry(r => r.ListAsync(admin))).Single(w => w.Id == id).State);
        await WithRegistry(r => r.SetEnabledAsync(admin, id, false));
        Assert.Equal("disabled", (await WithRegistry(r => r.ListAsync(admin))).Single(w => w.Id == id).State);
        await WithRegistry(r => r.RemoveAsync(admin, id));
        Assert.DoesNotContain(await WithRegistry(r => r.ListAsync(admin)), w => w.Id == id);
    }
}
