using System.Security.Cryptography;

namespace TransferHub.Imaging;

/// <summary>Content addresses: the lower-case hex SHA-256 of a file's bytes, as the web, the worker and the wire
/// contract all name images.</summary>
public static class ContentHash
{
    public static string Of(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>True for exactly 64 lower-case hex digits.</summary>
    public static bool IsSha256(string? value) =>
        value is { Length: 64 } && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
