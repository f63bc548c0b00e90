using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TransferHub.Web.Features.Projects;

public static class ProjectsExtensions
{
    public static IServiceCollection AddProjects(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<ProjectService>();
        services.AddSingleton<DeletedContentPurge>();
        services.AddHostedService(provider => provider.GetRequiredService<DeletedContentPurge>());
        return services;
    }
}
