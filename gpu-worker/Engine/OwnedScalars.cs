using TorchSharp;

namespace TransferHub.Worker.Engine;

/// <summary>
/// Scalars that live as long as the process. TorchSharp turns every number passed to a tensor operation into a
/// <see cref="Scalar"/> object, and its one-argument <c>add_(x)</c> / <c>add(x)</c> pass a hidden <c>alpha = 1</c> the
/// same way; nothing disposes or keeps those temporaries alive, so a garbage collection on any thread during the
/// native call can finalize (free) one while libtorch still reads it ("For integral input tensors, argument alpha
/// must not be a floating point number", "Unknown scalar type", or a silently wrong value). Dispose scopes track
/// tensors, not Scalars. Training-path code therefore passes either a Scalar it disposes after the call (a
/// <c>using</c> declaration) or one of these static, never-finalized, read-only ones, which threads may share.
/// </summary>
internal static class OwnedScalars
{
    /// <summary>int64 1: BatchNorm's step increment and the explicit <c>alpha</c> of additions.</summary>
    public static readonly Scalar One = 1L.ToScalar();
}
