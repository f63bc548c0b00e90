using Microsoft.Extensions.Diagnostics.HealthChecks;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Backbones;

namespace TransferHub.Worker.Grpc;

/// <summary>Healthy when libtorch is loaded and at least one backbone is usable.</summary>
public sealed class EngineHealthCheck(TorchRuntime runtime, BackboneRegistry backbones) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var usable = backbones.Descriptors.Count(d => d.Error is null);
        return Task.FromResult(usable > 0
            ? HealthCheckResult.Healthy($"{runtime.DeviceName}, {usable} backbone(s)")
            : HealthCheckResult.Unhealthy("No usable backbone."));
    }
}
