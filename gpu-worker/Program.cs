using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using TransferHub.Worker;
using TransferHub.Worker.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddWorkerOptions();
builder.AddWorkerTelemetry();
builder.WebHost.ConfigureKestrel((context, kestrel) =>
{
    var options = context.Configuration.GetSection(WorkerOptions.Section).Get<WorkerOptions>() ?? new WorkerOptions();
    // Plaintext gRPC needs HTTP/2 without TLS negotiation (h2c): HTTP/1.1 must be off.
    kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Limits.MaxRequestBodySize = null;
    if (IPAddress.TryParse(options.Host, out var address))
        kestrel.Listen(address, options.Port);
    else
        kestrel.ListenLocalhost(options.Port);
});
builder.Services.AddWorkerEngine();
builder.Services.AddWorkerGrpc();

var app = builder.Build();
app.InitializeWorkerEngine();
app.MapWorkerGrpc();
app.Run();

/// <summary>Entry point marker for WebApplicationFactory in tests.</summary>
public partial class Program;
