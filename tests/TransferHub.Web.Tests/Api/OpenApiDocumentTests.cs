using System.Net;
using System.Text.Json;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Api;

/// <summary>The API's OpenAPI description: served at /openapi/v1.json, only the API, with the token scheme, and the
/// committed copy in docs/api is the one the app serves.</summary>
public sealed class OpenApiDocumentTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    private const string CommittedCopy = "docs/api/openapi-v1.json";

    private async Task<string> ServedAsync()
    {
        var response = await app.CreateClient().GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task TheDocumentDescribesEveryApiEndpointAndTheBearerTokenAndNothingElse()
    {
        using var document = JsonDocument.Parse(await ServedAsync());
        var root = document.RootElement;

        var paths = root.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.All(paths, p => Assert.StartsWith("/api/v1/", p));
        string[] expected =
        [
            "/api/v1/teams", "/api/v1/teams/{teamId}/projects", "/api/v1/projects", "/api/v1/projects/{projectId}",
            "/api/v1/projects/{projectId}/datasets", "/api/v1/projects/{projectId}/jobs", "/api/v1/datasets/{datasetId}",
            "/api/v1/datasets/{datasetId}/zip", "/api/v1/datasets/{datasetId}/jobs", "/api/v1/datasets/{datasetId}/lr-finder", "/api/v1/jobs/{jobId}", "/api/v1/jobs/{jobId}/cancel", "/api/v1/jobs/{jobId}/requeue",
            "/api/v1/jobs/{jobId}/report.pdf", "/api/v1/jobs/{jobId}/per-class.csv", "/api/v1/jobs/{jobId}/predictions.csv",
            "/api/v1/jobs/{jobId}/evaluation.json", "/api/v1/jobs/{jobId}/leaderboard.csv", "/api/v1/jobs/{jobId}/model", "/api/v1/jobs/{jobId}/model.onnx",
            "/api/v1/jobs/{jobId}/model-card.md", "/api/v1/jobs/{jobId}/predict", "/api/v1/jobs/{jobId}/classify", "/api/v1/jobs/{jobId}/calibration",
            "/api/v1/jobs/{jobId}/explain", "/api/v1/jobs/{jobId}/evaluated/{sha256}/heatmap.png",
            "/api/v1/datasets/{datasetId}/label-issues", "/api/v1/datasets/{datasetId}/label-issues/{imageId}/accept",
            "/api/v1/datasets/{datasetId}/label-issues/{imageId}/keep", "/api/v1/datasets/{datasetId}/near-duplicates",
            "/api/v1/datasets/{datasetId}/near-duplicates/distinct",
        ];
        Assert.Equal(expected.Order(), paths.Order());
        // A run is renamed, tagged and starred with PATCH on its own path.
        Assert.True(root.GetProperty("paths").GetProperty("/api/v1/jobs/{jobId}").TryGetProperty("patch", out _));

        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("personalAccessToken");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.Equal("personalAccessToken", Assert.Single(Assert.Single(root.GetProperty("security").EnumerateArray()).EnumerateObject()).Name);
        Assert.False(root.TryGetProperty("servers", out var servers) && servers.GetArrayLength() > 0);
        // Enums travel by name.
        Assert.Contains("\"workerLost\"", root.GetRawText());
    }

    [Fact]
    public async Task TheCommittedCopyIsWhatTheAppServes()
    {
        var served = (await ServedAsync()).ReplaceLineEndings("\n").TrimEnd() + "\n";
        var path = Path.Combine(RepositoryRoot(), CommittedCopy);
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
            await File.WriteAllTextAsync(path, served);

        Assert.True(File.Exists(path), $"{CommittedCopy} is missing: run this test with UPDATE_OPENAPI=1 to write it.");
        Assert.True(served == (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n"),
            $"{CommittedCopy} differs from what the app serves at /openapi/v1.json: run this test with UPDATE_OPENAPI=1 and commit the file.");
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "TransferHub.sln")))
                return folder.FullName;
        throw new InvalidOperationException("TransferHub.sln not found above the test's folder.");
    }
}
