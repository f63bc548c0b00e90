namespace TransferHub.Worker.Grpc;

public static class GrpcEndpoints
{
    public static IServiceCollection AddWorkerGrpc(this IServiceCollection services)
    {
        services.AddGrpc();
        services.AddGrpcHealthChecks();
        return services;
    }

    public static void MapWorkerGrpc(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
    }
}
