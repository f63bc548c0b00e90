using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TransferHub.Web.Features.Teams;

public static class TeamsExtensions
{
    public static IServiceCollection AddTeams(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<TeamService>();
        return services;
    }
}
