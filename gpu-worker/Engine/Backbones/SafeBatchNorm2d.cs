using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// TorchSharp's <c>nn.BatchNorm2d</c> (same parameters, buffers, state_dict names and maths) whose training-mode
/// step counter is incremented with a <see cref="Scalar"/> this class owns for the life of the process.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>BatchNorm.forward</c> runs <c>num_batches_tracked.add_(1)</c>: both the value and the
/// default <c>alpha</c> become temporary <see cref="Scalar"/>s that nothing disposes or keeps alive. Once their
/// native handles are read, the managed objects are unreachable while libtorch is still inside the call, so a
/// garbage collection (triggered by any thread: image decoding, gRPC, another job) can run their finalizers, which
/// free the native <c>c10::Scalar</c>s mid-call. libtorch then reads freed memory as <c>alpha</c>; on the int64
/// counter that surfaces as "For integral input tensors, argument alpha must not be a floating point number"
/// (seen once in 27 fine-tunes), and otherwise as a silently wrong count. Dispose scopes do not track Scalars, so
/// the per-batch scope does not help. Here both are <see cref="OwnedScalars.One"/>: a static field, rooted, never
/// finalized, read-only in native code, so safe to share between threads.
/// See dotnet/TorchSharp pull requests 1434 and 1496 (implicitly created Scalars are left to the finalizer).
/// </remarks>
public sealed class SafeBatchNorm2d : BatchNorm
{
    public SafeBatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1)
        : base(features, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: "BatchNorm2d")
    {
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4) throw new ArgumentException($"expected 4D input, but got {input.ndim}D input.");
    }

    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var averageFactor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is { } tracked)
        {
            tracked.add_(OwnedScalars.One, OwnedScalars.One);
            if (momentum is null) averageFactor = 1.0 / tracked.item<long>();
        }
        var useRunning = !training || track_running_stats;
        var batchStatistics = training || (running_mean is null && running_var is null);
        return nn.functional.batch_norm(input, useRunning ? running_mean : null, useRunning ? running_var : null,
            weight, bias, batchStatistics, averageFactor, eps);
    }
}
