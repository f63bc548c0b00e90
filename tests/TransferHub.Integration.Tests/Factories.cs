using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Workers;

namespace TransferHub.Integration.Tests;

/// <summary>A real worker on TestServer with a temporary data folder.</summary>
public sealed class WorkerHost : WebApplicationFactory<TransferHub.Worker.WorkerOptions>
{
    public const string Token = "integration-token-0123456789";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Worker:Name", "integration-worker");
        builder.UseSetting("Worker:Token", Token);
        builder.UseSetting("Worker:DataFolder", _folder);
        builder.UseSetting("Worker:WeightsFolder", Path.Combine(_folder, "weights"));
        builder.UseSetting("Worker:Device", "Cpu");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The web app on TestServer whose gRPC clients reach <paramref name="worker"/> in process.</summary>
public sealed class WebHost : WebApplicationFactory<TransferHub.Web.WebOptions>
{
    private readonly WorkerHost worker;

    public WebHost(WorkerHost worker)
    {
        this.worker = worker;
        _ = worker.Server; // start it now (it loads libtorch and the backbones), not inside a call's deadline
    }

    public const string WorkerAddress = "http://worker.test:5101";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "transferhub-integration", Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:TransferHub", $"Data Source={Path.Combine(_folder, "web.db")}");
        builder.UseSetting("Storage:Root", Path.Combine(_folder, "storage"));
        builder.UseSetting("Workers:Local:Name", "in-process-worker");
        builder.UseSetting("Workers:Local:Address", WorkerAddress);
        builder.UseSetting("Workers:Local:Token", WorkerHost.Token);
        builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton<WorkerClientFactory>(new InProcessClients(worker))));
    }

    public async Task<string> CreateAdminAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var email = $"admin-{Guid.NewGuid():N}@example.com";
        var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
        Assert.True((await users.CreateAsync(user)).Succeeded);
        if (!await users.IsInRoleAsync(user, SiteAdmin.Role)) // the first account becomes admin on its own
            Assert.True((await users.AddToRoleAsync(user, SiteAdmin.Role)).Succeeded);
        return user.Id;
    }

    public async Task<T> InScopeAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private sealed class InProcessClients(WorkerHost worker) : WorkerClientFactory
    {
        protected override HttpMessageHandler CreateHandler(Uri address) => worker.Server.CreateHandler();
    }
}
