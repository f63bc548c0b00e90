using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;

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

/// <summary>A worker registered from configuration at every start (section "Workers:Fleet", a list): how several web
/// instances share one fleet without an admin registering each worker on a page. Same fields as the local worker.</summary>
public sealed class FleetWorkerOptions
{
    public const string Section = "Workers:Fleet";

    public string Name { get; set; } = "";

    public string Address { get; set; } = "";

    public string Token { get; set; } = "";
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
        // Worker tokens (and sign-in cookies) are encrypted with these keys: they live in the database, so that every web
        // instance reads what another wrote (ADR 035). Keys an older version kept under <storage>/keys are imported once.
        builder.Services.AddDataProtection().SetApplicationName("TransferHub").PersistKeysToDbContext<TransferHubDbContext>();
        // The gateway (ADR 012): channels, tokens and the mapping of the worker contract, in one folder.
        builder.Services.TryAddSingleton<Gateway.WorkerClientFactory>();
        builder.Services.AddSingleton<Gateway.WorkerTokens>();
        builder.Services.AddSingleton<Gateway.WorkerGateway>();
        builder.Services.AddScoped<WorkerRegistryService>();
        builder.Services.AddOptions<WorkerHealthOptions>().BindConfiguration(WorkerHealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WorkerMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WorkerMonitor>());
    }

    /// <summary>The folder where versions before ADR 035 kept the Data Protection keys: &lt;Storage:Root&gt;/keys.</summary>
    public static string LegacyKeysFolder(IConfiguration configuration, IHostEnvironment environment) =>
        Path.GetFullPath(Path.Combine(environment.ContentRootPath,
            configuration[$"{Storage.StorageOptions.Section}:Root"] ?? new Storage.StorageOptions().Root, "keys"));

    /// <summary>Copies the Data Protection keys an older version kept on disk (<see cref="LegacyKeysFolder"/>, files
    /// <c>key-&lt;id&gt;.xml</c>) into the database when it holds none yet, so worker tokens stored before keep
    /// decrypting. Runs once, after the migrations and before anything encrypts (a key ring made before would be a new
    /// one); the files are left where they are. Returns how many keys were imported.</summary>
    public static async Task<int> ImportDataProtectionKeysAsync(this WebApplication app)
    {
        var folder = LegacyKeysFolder(app.Configuration, app.Environment);
        if (!Directory.Exists(folder)) return 0;
        var files = Directory.GetFiles(folder, "key-*.xml").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) return 0;
        var factory = app.Services.GetRequiredService<IDbContextFactory<TransferHubDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        if (await db.DataProtectionKeys.AnyAsync()) return 0;
        foreach (var file in files)
        {
            // Stored as the file system repository wrote it; the database repository reads the same XML element.
            var xml = XElement.Load(file).ToString(SaveOptions.DisableFormatting);
            db.DataProtectionKeys.Add(new DataProtectionKey { FriendlyName = Path.GetFileNameWithoutExtension(file), Xml = xml });
        }
        await db.SaveChangesAsync();
        app.Logger.LogInformation("Imported {Count} Data Protection keys from {Folder} into the database", files.Count, folder);
        return files.Count;
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

    /// <summary>Registers (or updates, by name) every worker listed under Workers:Fleet.</summary>
    /// <exception cref="InvalidOperationException">An entry lacks a name or an http(s) address, or its token is shorter than 16 characters.</exception>
    public static async Task RegisterFleetAsync(this WebApplication app)
    {
        var fleet = app.Configuration.GetSection(FleetWorkerOptions.Section).Get<List<FleetWorkerOptions>>() ?? [];
        if (fleet.Count == 0) return;
        await using var scope = app.Services.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<WorkerRegistryService>();
        for (var i = 0; i < fleet.Count; i++)
        {
            var worker = fleet[i];
            if (string.IsNullOrWhiteSpace(worker.Name) || !Uri.TryCreate(worker.Address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || worker.Token.Length < 16)
                throw new InvalidOperationException($"{FleetWorkerOptions.Section}:{i} needs a Name, an http(s) Address and a Token of at least 16 characters " +
                    $"(it has Name \"{worker.Name}\", Address \"{worker.Address}\", a {worker.Token.Length}-character Token).");
            await registry.RegisterConfiguredAsync(worker.Name.Trim(), worker.Address, worker.Token);
            app.Logger.LogInformation("Fleet worker {Name} registered at {Address}", worker.Name, worker.Address);
        }
    }
}
