using System.Net;
using TransferHub.Web.Tests.Datasets;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Api;

/// <summary>A dataset's quality checks over the API without a worker: near-duplicates by the difference-hash fallback,
/// "not duplicates", and what the label-issue endpoints answer before and without a worker. A real search for label
/// issues over the API is in the integration tests (LabelIssuesTests).</summary>
public sealed class DatasetQualityApiTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    /// <summary>The cat in train, a smaller re-encoded copy of it in test (a leak), and an unrelated coffee photo.</summary>
    private Task<(TeamScenario S, int DatasetId)> DatasetAsync() => LeakingPets.CreateAsync(app, _services);

    [Fact]
    public async Task AScriptFindsALeakingCopyMarksItNotADuplicateAndTheNextSearchHidesIt()
    {
        var (s, datasetId) = await DatasetAsync();
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var editor = await app.ApiClientAsync(s.EditorId);

        var found = await (await viewer.PostAsync($"api/v1/datasets/{datasetId}/near-duplicates", null)).JsonAsync();

        Assert.Equal("differenceHash", found.GetProperty("method").GetString());
        Assert.Contains("No worker could compare what the pictures show", found.GetProperty("explanation").GetString());
        var group = Assert.Single(found.GetProperty("groups").EnumerateArray());
        Assert.True(group.GetProperty("crossesSplits").GetBoolean());
        var members = group.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(["test/cat/chelsea-small.jpg", "train/cat/chelsea.jpg"], members.Select(m => m.GetProperty("originalName").GetString()).Order());
        Assert.Equal(["test", "train"], members.Select(m => m.GetProperty("split").GetString()).Order());
        var ids = members.Select(m => m.GetProperty("imageId").GetInt64()).ToArray();

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct", new { imageIds = ids })).StatusCode);
        var marked = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct", new { imageIds = ids })).JsonAsync();
        Assert.Equal(1, marked.GetProperty("remembered").GetInt32());

        var again = await (await viewer.PostAsync($"api/v1/datasets/{datasetId}/near-duplicates", null)).JsonAsync();
        Assert.Empty(again.GetProperty("groups").EnumerateArray());
        Assert.Equal(1, again.GetProperty("hidden").GetInt32());
    }

    [Fact]
    public async Task BadThresholdsAndBodiesAreRefusedWithTheReasonAndOutsidersFindNoDataset()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        var outsider = await app.ApiClientAsync(s.OutsiderId);

        foreach (var threshold in new[] { "0,92", "0.5", "1.5", "NaN", "high" })
        {
            var detail = await (await editor.PostAsync($"api/v1/datasets/{datasetId}/near-duplicates?threshold={threshold}", null)).ProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("threshold must be a cosine similarity from 0.80 to 1.00", detail);
        }
        // A valid threshold is accepted; the fallback compares hashes instead and answers with its own threshold, in bits.
        var fallback = await (await editor.PostAsync($"api/v1/datasets/{datasetId}/near-duplicates?threshold=0.95", null)).JsonAsync();
        Assert.Equal(("differenceHash", 2.0), (fallback.GetProperty("method").GetString(), fallback.GetProperty("threshold").GetDouble()));

        // Body problems name the field and what it needs, not the web's .NET types.
        Assert.Equal("The body does not fit this request: imageIds: required.",
            await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct", new { })).ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Equal("The body does not fit this request: imageIds: expected a list of whole numbers.",
            await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct", new { imageIds = "1,2" })).ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("at least two different images", await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct",
            new { imageIds = new[] { 1L } })).ProblemAsync(HttpStatusCode.Conflict), StringComparison.Ordinal);
        await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/near-duplicates/distinct", new { imageIds = new[] { 999_998L, 999_999L } }))
            .ProblemAsync(HttpStatusCode.NotFound);

        await (await outsider.PostAsync($"api/v1/datasets/{datasetId}/near-duplicates", null)).ProblemAsync(HttpStatusCode.NotFound);
        await (await outsider.GetAsync($"api/v1/datasets/{datasetId}/label-issues")).ProblemAsync(HttpStatusCode.NotFound);
        await (await outsider.PostAsync($"api/v1/datasets/{datasetId}/label-issues", null)).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task LabelIssuesAreEmptyBeforeASearchAndASearchWithoutAWorkerSaysWhyAndStoresNothing()
    {
        var (s, datasetId) = await DatasetAsync();
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var editor = await app.ApiClientAsync(s.EditorId);

        Assert.Empty((await (await viewer.GetAsync($"api/v1/datasets/{datasetId}/label-issues")).JsonAsync()).EnumerateArray());
        await (await viewer.PostAsync($"api/v1/datasets/{datasetId}/label-issues", null)).ProblemAsync(HttpStatusCode.Forbidden);
        var detail = await (await editor.PostAsync($"api/v1/datasets/{datasetId}/label-issues", null)).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("worker", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await (await editor.GetAsync($"api/v1/datasets/{datasetId}/label-issues")).JsonAsync()).EnumerateArray());
        await (await editor.PostAsync($"api/v1/datasets/{datasetId}/label-issues/999999/accept", null)).ProblemAsync(HttpStatusCode.NotFound);
    }
}
