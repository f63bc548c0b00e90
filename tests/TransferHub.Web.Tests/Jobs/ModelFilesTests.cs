using System.Net;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Tests.Api;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>issue 12: the model card and the model files of a run, for its team only (the ONNX export itself, which
/// needs a worker, is in the integration tests).</summary>
public sealed class ModelFilesTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task TheModelCardStatesDataSettingsMetricsWithTheirSplitAndLimitationsForTheTeamOnly()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes | bags");
        (int, float)[] verdicts = [(0, 0.9f), (0, 0.8f), (1, 0.3f), (1, 0.7f)];
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [.. verdicts.Select((v, i) => ($"{i:x64}"[..64], v.Item1, v.Item2))],
            ["bag_*", "sandal"]);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var response = await viewer.GetAsync($"runs/{jobId}/model-card.md");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/markdown", response.Content.Headers.ContentType?.MediaType);
        var card = await response.Content.ReadAsStringAsync();
        Assert.Contains($"# Model card: run #{jobId} · resnet18x3-imagenet", card);
        Assert.Contains("Shoes \\| bags", card);                                   // names stay literal in Markdown
        Assert.Contains("## Metrics (on the test split, 4 images)", card);
        Assert.Contains("- Accuracy: 75.0 %", card);
        Assert.Contains("| bag\\_\\* | 0.667 | 1.000 | 0.800 | 2 |", card);
        Assert.Contains("- Learning rate: 0.003", card);
        Assert.Contains("fewer than 5 evaluated images", card);
        Assert.Contains("Only 4 evaluated images", card);
        Assert.Contains("labels = all of the run's classes", card);

        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"runs/{jobId}/model-card.md")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"runs/{jobId}/model.onnx")).StatusCode);
        var api = await app.ApiClientAsync(s.ViewerId);
        Assert.Contains("# Model card", await (await api.GetAsync($"api/v1/jobs/{jobId}/model-card.md")).Content.ReadAsStringAsync());
        await (await (await app.ApiClientAsync(s.OutsiderId)).GetAsync($"api/v1/jobs/{jobId}/model.onnx")).ProblemAsync(HttpStatusCode.NotFound);
        // A stored run without a model file (this one never had a worker) has nothing to export.
        Assert.Contains("has no stored model", await (await viewer.GetAsync($"runs/{jobId}/model.onnx")).Content.ReadAsStringAsync());
    }

    [Fact]
    public void ARunEvaluatedOnItsTrainingImagesSaysItsNumbersAreOptimistic()
    {
        var evaluation = Web.Features.Jobs.RunEvaluation.Compute("train", ["a", "b"],
            [.. Enumerable.Range(0, 40).Select(i => ($"{i:x64}"[..64], i % 2, i % 2 == 0 ? new float[] { 0.9f, 0.1f } : [0.2f, 0.8f]))]);

        var card = ModelCard.Markdown(new ModelCardFacts(7, "p", "d", "v", DateTime.UtcNow, "resnet18x3-imagenet", "ImageNet, NuGet package",
            [], 40, 0, 0, evaluation));

        Assert.Contains("## Metrics (on the training split, 40 images)", card);
        Assert.Contains("Evaluated on its own training images", card);
        Assert.Contains("pretrained weights from: ImageNet, NuGet package", card);
    }
}
