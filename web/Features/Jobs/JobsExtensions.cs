using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Jobs;

public static class JobsExtensions
{
    public static void AddJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services =>
        {
            var root = services.GetRequiredService<IOptions<StorageOptions>>().Value.Root;
            var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
            return new ModelStore(Path.GetFullPath(Path.Combine(contentRoot, root)));
        });
        builder.Services.AddSingleton<JobNotifier>();
        builder.Services.AddSingleton<WebInstance>();
        builder.Services.AddSingleton<RunLeases>();
        builder.Services.AddSingleton<RunTransitions>();
        builder.Services.AddSingleton<RunEventApplier>();
        builder.Services.AddSingleton<RunImageSender>();
        builder.Services.AddSingleton<RunFollower>();
        builder.Services.AddSingleton<JobScheduler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JobScheduler>());
        builder.Services.AddScoped<RunLauncher>();
        builder.Services.AddScoped<LearningRateFinderService>();
        builder.Services.AddScoped<JobService>();
    }
}
