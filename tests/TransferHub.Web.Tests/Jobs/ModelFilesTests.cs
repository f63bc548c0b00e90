using System.IO.Compression;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Tests.Api;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>issue 12: the model card (Markdown, and JSON inside the model zip) and the model files of a run and of an
/// ensemble, for its team only (the ONNX export itself, which needs a worker, is in the integration tests).</summary>
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
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.Name, "baseline"));

        var response = await viewer.GetAsync($"runs/{jobId}/model-card.md");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/markdown", response.Content.Headers.ContentType?.MediaType);
        var card = await response.Content.ReadAsStringAsync();
        // Titled as the run page titles it: its number in the project and its name (its global id is the API's).
        Assert.Contains("# Model card: Run #1 “baseline” · resnet18x3-imagenet", card);
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
    public async Task TheModelZipCarriesTheModelCardAsJsonSayingWhatTheMarkdownSays()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes | bags");
        (int, float)[] verdicts = [(0, 0.9f), (0, 0.8f), (1, 0.3f), (1, 0.7f)];
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [.. verdicts.Select((v, i) => ($"{i:x64}"[..64], v.Item1, v.Item2))],
            ["bag_*", "sandal"]);
        var stored = await StoredRuns.StoreModelAsync(app, jobId);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var response = await viewer.GetAsync($"runs/{jobId}/model.zip");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        var entries = ReadZip(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(["model-card.json", "model.json", "weights.safetensors"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(stored["model.json"], entries["model.json"]);                      // the stored model, unchanged
        Assert.Equal(stored["weights.safetensors"], entries["weights.safetensors"]);

        var json = System.Text.Encoding.UTF8.GetString(entries["model-card.json"]);
        var card = ModelCard.FromJson(json);
        Assert.NotNull(card);
        Assert.Equal(ModelCard.Format, card.Format);
        Assert.Equal(jobId, card.Run.Id);
        Assert.Equal("Shoes | bags", card.Run.Dataset);                                   // names as they are, not escaped
        Assert.Equal(["bag_*", "sandal"], card.Data.Classes);
        Assert.Equal(new string('a', 64), card.Data.DatasetVersion);
        Assert.Equal("test", card.Metrics.Split);
        Assert.Equal(4, card.Metrics.Images);
        Assert.Equal(0.75, card.Metrics.Accuracy, 9);
        var bag = card.Metrics.PerClass[0];
        Assert.Equal(("bag_*", 2), (bag.ClassName, bag.Support));
        Assert.Equal(0.8, bag.F1, 3);
        Assert.Contains(card.Training.Settings, t => t.Name == "Learning rate" && t.Value == "0.003");
        Assert.Equal("resnet18x3-imagenet", card.Training.Backbone);
        Assert.False(string.IsNullOrEmpty(card.Training.WeightsLicence));
        Assert.Contains("bag_*, sandal", card.IntendedUse);
        Assert.Contains("Classes with fewer than 5 evaluated images, whose scores say little: bag_* (2), sandal (2).", card.Limitations);

        // One content, two renderings: the Markdown card states the same metrics, settings and limitations.
        var markdown = await viewer.GetStringAsync($"runs/{jobId}/model-card.md");
        Assert.Contains($"## Metrics (on the test split, {card.Metrics.Images} images)", markdown);
        Assert.Contains("| bag\\_\\* | 0.667 | 1.000 | 0.800 | 2 |", markdown);
        foreach (var limitation in card.Limitations) Assert.Contains($"- {limitation.Replace("bag_*", "bag\\_\\*")}", markdown);
        Assert.Equal(card.Limitations.Count, markdown.Split("## Limitations")[1].Split('\n').Count(l => l.StartsWith("- ", StringComparison.Ordinal)));
        using (var document = System.Text.Json.JsonDocument.Parse(json))                // plain camelCase JSON for any reader
        {
            Assert.Equal("test", document.RootElement.GetProperty("metrics").GetProperty("split").GetString());
            Assert.Equal(jobId, document.RootElement.GetProperty("run").GetProperty("id").GetInt32());
            Assert.True(document.RootElement.GetProperty("run").GetProperty("number").GetInt32() >= 1);
        }

        // The API's download is the same zip.
        var api = await app.ApiClientAsync(s.ViewerId);
        Assert.Contains("model-card.json", ReadZip(await (await api.GetAsync($"api/v1/jobs/{jobId}/model")).Content.ReadAsByteArrayAsync()).Keys);
        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"runs/{jobId}/model.zip")).StatusCode);
    }

    [Fact]
    public async Task AnEnsemblesOnnxNeedsEveryMemberModelStoredAndOneInputForAll()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes");
        var first = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.45f)]);
        var second = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.45f), (1, 0.9f)]);
        var ensemble = await app.Services.CreateScope().ServiceProvider.GetRequiredService<ComparisonService>()
            .EnsembleAsync(s.EditorId, s.ProjectId, [first, second]);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var noModels = await (await viewer.GetAsync($"runs/{ensemble}/model.onnx")).ProblemAsync(HttpStatusCode.Conflict);
        // Members are named by their numbers in the project, as the Runs table shows them.
        Assert.Contains("member run #1 has no stored model", noModels);
        Assert.Contains("member run #2 has no stored model", noModels);

        await StoredRuns.StoreModelAsync(app, first);
        await StoredRuns.StoreModelAsync(app, second);
        await using (var db = await app.DbAsync())
        {
            var settings = System.Text.Json.JsonSerializer.Serialize(new JobSettings { Backbone = "resnet18x3-imagenet", ImageSize = 128, CenterCrop = true });
            await db.Jobs.Where(j => j.Id == second).ExecuteUpdateAsync(u => u.SetProperty(j => j.SettingsJson, settings));
        }
        var differ = await (await viewer.GetAsync($"runs/{ensemble}/model.onnx")).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("run #1: 64 px squashed", differ);
        Assert.Contains("run #2: 128 px centre crop", differ);

        await using (var db = await app.DbAsync())
        {
            var settings = (await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == first)).SettingsJson;
            await db.Jobs.Where(j => j.Id == second).ExecuteUpdateAsync(u => u.SetProperty(j => j.SettingsJson, settings));
        }
        // Past every check of the web: what is left is a worker's job (these tests have none; the integration tests do).
        var api = await app.ApiClientAsync(s.ViewerId);
        Assert.Contains("No worker is enabled to export", await (await api.GetAsync($"api/v1/jobs/{ensemble}/model.onnx")).ProblemAsync(HttpStatusCode.Conflict));
        Assert.Contains("An ensemble has no single model", await (await viewer.GetAsync($"runs/{ensemble}/model.zip")).ProblemAsync(HttpStatusCode.Conflict));
        // The card names each member (run, mode, backbone, seed, accuracy) and the members' training data, not the
        // ensemble's own zero train / validation images.
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == first).ExecuteUpdateAsync(u => u.SetProperty(j => j.TrainImages, 12).SetProperty(j => j.ValImages, 3));
        var card = await viewer.GetStringAsync($"runs/{ensemble}/model-card.md");
        Assert.Contains("- Images: 12 train, 3 validation", card);
        Assert.Contains("# Model card: Ensemble #3 · ", card);
        Assert.Matches(@"- Member 1: run \\?#1: ", card);
        Assert.Matches(@"- Member 2: run \\?#2: ", card);
        Assert.Contains("seed 2, accuracy", card);
        Assert.DoesNotContain("- Images: 0 train, 0 validation", card);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await outsider.GetAsync($"api/v1/jobs/{ensemble}/model.onnx")).ProblemAsync(HttpStatusCode.NotFound);
        // The ensemble's page links its members' runs.
        var page = await viewer.GetStringAsync($"runs/{ensemble}");
        Assert.Contains($"href=\"runs/{first}\"", page);
        Assert.Contains($"href=\"runs/{second}\"", page);
    }

    private static Dictionary<string, byte[]> ReadZip(byte[] bytes)
    {
        using var zip = new ZipArchive(new MemoryStream(bytes));
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
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
        // No worker reports the backbone now: the card says so rather than naming a licence it does not know.
        Assert.Contains("licence of the weights: not reported by a worker now", card);
    }

    [Fact]
    public void TheModelCardListsTheTrainingDoctorsFindingsInMarkdownAndJsonAlike()
    {
        var evaluation = Web.Features.Jobs.RunEvaluation.Compute("test", ["a", "b"],
            [.. Enumerable.Range(0, 40).Select(i => ($"{i:x64}"[..64], i % 2, i % 2 == 0 ? new float[] { 0.9f, 0.1f } : [0.2f, 0.8f]))]);
        var facts = new ModelCardFacts(7, "p", "d", "v", DateTime.UtcNow, "resnet18x3-imagenet", null, [], 40, 10, 40, evaluation)
        {
            Findings = [new("class-imbalance", Web.Features.Jobs.Doctor.FindingSeverity.Warning, "Class imbalance",
                "The largest class, a_b, has 30 training images, 3× the smallest, c (10).", new Dictionary<string, double> { ["ratio"] = 3 },
                "Turn on class weighting.")],
        };

        var markdown = ModelCard.Markdown(facts);
        var json = ModelCard.FromJson(ModelCard.ToJson(facts))!;
        var healthy = ModelCard.Markdown(facts with { Findings = [] });

        Assert.Contains("## Training doctor\n- **Class imbalance** (warning): The largest class, a\\_b, has 30 training images, 3× the smallest, " +
            "c (10). What to do: Turn on class weighting.", markdown.ReplaceLineEndings("\n"));
        var finding = Assert.Single(json.TrainingDoctor!);
        Assert.Equal(("class-imbalance", "warning", 3.0), (finding.Rule, finding.Severity, finding.Numbers["ratio"]));
        Assert.Contains("- No findings", healthy);
    }
}
