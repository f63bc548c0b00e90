using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Instances;

public static class InstancesExtensions
{
    /// <summary>Registers the <see cref="ILiveBus"/> of the configured provider (ADR 035): in-process on SQLite (one web
    /// process), PostgreSQL <c>LISTEN</c>/<c>NOTIFY</c> on PostgreSQL (any number of web instances on one database).</summary>
    public static void AddInstances(this WebApplicationBuilder builder)
    {
        if (DataExtensions.ProviderOf(builder.Configuration) == DatabaseProvider.Postgres)
        {
            builder.Services.AddSingleton(services => new PostgresLiveBus(
                DataExtensions.ResolveConnectionString(services.GetRequiredService<IConfiguration>(), services.GetRequiredService<IHostEnvironment>().ContentRootPath),
                services.GetRequiredService<ILogger<PostgresLiveBus>>()));
            builder.Services.AddSingleton<ILiveBus>(services => services.GetRequiredService<PostgresLiveBus>());
            builder.Services.AddHostedService(services => services.GetRequiredService<PostgresLiveBus>());
        }
        else
        {
            builder.Services.AddSingleton<ILiveBus, InProcessLiveBus>();
        }
    }
}
