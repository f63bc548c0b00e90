using System.Text.RegularExpressions;

namespace TransferHub.Web.Tests.Architecture;

/// <summary>ADR 012: only the worker gateway sees the generated gRPC client and the messages of worker.proto.</summary>
public sealed partial class GatewayBoundaryTests
{
    private static string WebFolder([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "web"));

    [GeneratedRegex(@"TransferHub\.Worker\.V1|\bGrpc\.(Core|Net|Health)\b|\bGoogle\.Protobuf\b")]
    private static partial Regex GrpcTypes();

    [Fact]
    public void NoWebFileOutsideTheGatewayReferencesTheGeneratedWorkerClient()
    {
        var web = WebFolder();
        var gateway = Path.Combine(web, "Features", "Workers", "Gateway") + Path.DirectorySeparatorChar;
        var sources = Directory.EnumerateFiles(web, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".razor", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(sources);
        Assert.Contains(sources, f => f.StartsWith(gateway, StringComparison.Ordinal) && GrpcTypes().IsMatch(File.ReadAllText(f)));

        var offenders = sources.Where(f => !f.StartsWith(gateway, StringComparison.Ordinal))
            .Where(f => GrpcTypes().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(web, f)).ToList();

        Assert.True(offenders.Count == 0, "These web files use gRPC types outside Features/Workers/Gateway: " + string.Join(", ", offenders));
    }
}
