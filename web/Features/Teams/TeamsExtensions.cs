using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TransferHub.Web.Features.Teams;

public static class TeamsExtensions
{
    public static IServiceCollection AddTeams(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<TeamService>();
        services.AddScoped<InvitationService>();
        return services;
    }
}
