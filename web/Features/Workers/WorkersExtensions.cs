using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TransferHub.Web.Features.Workers;

/// <summary>The worker that comes with the web app (section "Workers:Local"); registered at start when set.</summary>
public sealed class LocalWorkerOptions
{
    public const string Section = "Workers:Local";

    public string? Name { get; set; } = "local-worker";

    /// <summary>e.g. http://127.0.0.1:5101; empty = no local worker.</summary>
    public string? Address { get; set; }

    public string? Token { get; set; }
}

public static class WorkersExtensions
{
    public static void AddWorkers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LocalWorkerOptions>().BindConfiguration(LocalWorkerOptions.Section)
            .Validate(o => string.IsNullOrWhiteSpace(o.Address) || o.Token is { Length: >= 16 },
                "Workers:Local:Token must have at least 16 characters when Workers:Local:Address is set.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        // Worker tokens are encrypted with these keys: they live with the web's data, not in the home folder.
        var storage = builder.Configuration[$"{Storage.StorageOptions.Section}:Root"] ?? new Storage.StorageOptions().Root;
        builder.Services.AddDataProtection().SetApplicationName("TransferHub")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.GetFullPath(Path.Combine(builder.Environment.ContentRootPath, storage, "keys"))));
        // The gateway (ADR 012): channels, tokens and the mapping of the worker contract, in one folder.
        builder.Services.TryAddSingleton<Gateway.WorkerClientFactory>();
        builder.Services.AddSingleton<Gateway.WorkerTokens>();
        builder.Services.AddSingleton<Gateway.WorkerGateway>();
        builder.Services.AddScoped<WorkerRegistryService>();
        builder.Services.AddOptions<WorkerHealthOptions>().BindConfiguration(WorkerHealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WorkerMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WorkerMonitor>());
    }

    /// <summary>Registers (or updates) the configured local worker, marked as such.</summary>
    public static async Task RegisterLocalWorkerAsync(this WebApplication app)
    {
        var local = app.Services.GetRequiredService<IOptions<LocalWorkerOptions>>().Value;
        if (string.IsNullOrWhiteSpace(local.Address)) return;
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<WorkerRegistryService>()
            .RegisterLocalAsync(local.Name ?? "local-worker", local.Address, local.Token!);
        app.Logger.LogInformation("Local worker {Name} registered at {Address}", local.Name, local.Address);
    }
}
