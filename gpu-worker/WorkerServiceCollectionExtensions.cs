using Microsoft.Extensions.Options;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Jobs;
using TransferHub.Worker.Storage;

namespace TransferHub.Worker;

public static class WorkerServiceCollectionExtensions
{
    public static void AddWorkerOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WorkerOptions>()
            .BindConfiguration(WorkerOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => Enum.IsDefined(o.Device), "Worker:Device must be Auto, Cpu or Cuda.")
            .ValidateOnStart();
    }

    public static IServiceCollection AddWorkerEngine(this IServiceCollection services)
    {
        services.AddSingleton(sp => TorchRuntime.Initialize(sp.GetRequiredService<IOptions<WorkerOptions>>().Value,
            sp.GetRequiredService<ILogger<TorchRuntime>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new ImageStore(Path.Combine(options.DataFolder, "images"), options.MaxImagePixels);
        });
        services.AddSingleton(sp => new ModelStore(Path.Combine(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.DataFolder, "models")));
        services.AddSingleton(sp => new FeatureCache(Path.Combine(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.DataFolder, "features")));
        services.AddSingleton(sp => BackboneRegistry.Create(
            sp.GetRequiredService<IOptions<WorkerOptions>>().Value.WeightsFolder,
            Path.Combine(AppContext.BaseDirectory, "pretrained"),
            sp.GetRequiredService<ILogger<BackboneRegistry>>()));
        services.AddSingleton<IJobTrainer, TorchJobTrainer>();
        services.AddSingleton<JobRunner>();
        return services;
    }

    /// <summary>Loads libtorch and the backbones now, so a bad device setting or weights folder shows at start,
    /// not at the first job.</summary>
    public static void InitializeWorkerEngine(this WebApplication app)
    {
        app.Services.GetRequiredService<TorchRuntime>();
        app.Services.GetRequiredService<BackboneRegistry>(); // logs what it offers and what it could not use
    }
}
