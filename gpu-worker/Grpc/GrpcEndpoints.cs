using Microsoft.Extensions.Options;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Storage;

namespace TransferHub.Worker.Grpc;

public static class GrpcEndpoints
{
    public static IServiceCollection AddWorkerGrpc(this IServiceCollection services)
    {
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 80 * 1024 * 1024;
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<ErrorDetailInterceptor>(); // runs first: also covers what the token check throws
        }).AddServiceOptions<WorkerGrpcService>(o => o.Interceptors.Add<BearerTokenInterceptor>());
        services.AddGrpcHealthChecks().AddCheck<EngineHealthCheck>("engine");
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new Predictor(sp.GetRequiredService<ModelStore>(), sp.GetRequiredService<BackboneRegistry>(),
                sp.GetRequiredService<TorchRuntime>(), options.MaxImagePixels, (long)options.LoadedModelsMegabytes << 20);
        });
        services.AddSingleton(sp => new OnnxExporter(sp.GetRequiredService<ModelStore>(), sp.GetRequiredService<BackboneRegistry>()));
        return services;
    }

    public static void MapWorkerGrpc(this WebApplication app)
    {
        app.MapGrpcService<WorkerGrpcService>();
        app.MapGrpcHealthChecksService();
    }
}
