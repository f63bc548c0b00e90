using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Api;
using TransferHub.Web.Tests.Infrastructure;
using Wire = TransferHub.Worker.V1;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Auto mode (autopilot) from the web's side, without a worker: launching over the API (what is stored and
/// sent, what is refused), and the worker's events filling the stored leaderboard live, then ranked. The scheduler is
/// stopped, so these tests play the worker's events themselves; training with a real worker is in the integration
/// tests.</summary>
public sealed class AutoModeTests(NoWorkerWebApp app) : IClassFixture<NoWorkerWebApp>, IAsyncLifetime, IDisposable
{
    private const string Backbone = "resnet18x3-imagenet";
    private static readonly string[] Classes = ["bag", "sandal"];
    private readonly ServiceScope _services = new(app);

    public async Task InitializeAsync() => await app.Service<JobScheduler>().StopAsync(CancellationToken.None);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _services.Dispose();

    private Task<(TeamScenario S, int DatasetId)> DatasetAsync() => app.ShoesAndBagsAsync(Classes);

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().Include(j => j.Logs).FirstAsync(j => j.Id == id);
    }

    private static int Id(JsonElement launched) => Assert.Single(launched.GetProperty("ids").EnumerateArray()).GetInt32();

    [Fact]
    public async Task AnAutoLaunchStoresItsBudgetAndSendsTheWorkerOnlyWhatAutoUses()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        // learningRate 0 would be refused in the other modes: Auto ignores the recipe.
        var id = Id(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, mode = "auto", timeBudgetSeconds = 20, imageSize = 64, learningRate = 0 })).JsonAsync(HttpStatusCode.Created));

        var job = await JobAsync(id);
        Assert.Equal((TrainingMode.Auto, 20, 0), (job.Mode, job.TimeBudgetSeconds, job.EpochsTotal));
        var spec = Wire.JobSpec.Parser.ParseFrom(job.Spec);
        Assert.Equal((Wire.JobMode.Auto, 20, 64, Backbone), (spec.Mode, spec.TimeBudgetSeconds, spec.ImageSize, spec.Backbone));
        Assert.Equal((0, 0f, 0, 0f), (spec.Epochs, spec.LearningRate, spec.EarlyStoppingPatience, spec.WeightDecay)); // "the default": ignored
        Assert.Null(spec.Head);
        Assert.Null(spec.Augmentation);
        Assert.Equal(20, spec.Items.Count);

        var status = await (await editor.GetAsync($"api/v1/jobs/{id}")).JsonAsync();
        Assert.Equal("auto", status.GetProperty("mode").GetString());
        Assert.Equal(20, status.GetProperty("timeBudgetSeconds").GetInt32());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("leaderboard").ValueKind); // nothing scored yet
        Assert.Equal("20 s", status.GetProperty("settings").GetProperty("Time budget").GetString());
        Assert.False(status.GetProperty("settings").TryGetProperty("Learning rate", out _));

        var byDefault = await JobAsync(Id(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, mode = "auto" }))
            .JsonAsync(HttpStatusCode.Created)));
        Assert.Equal(Contracts.Jobs.JobDefaults.AutoTimeBudgetSeconds, byDefault.TimeBudgetSeconds);
        // Without a mode the API stays what v1 always was: feature extraction (the launch form defaults to auto).
        var plain = await JobAsync(Id(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone }))
            .JsonAsync(HttpStatusCode.Created)));
        Assert.Equal((TrainingMode.FeatureExtraction, null), (plain.Mode, plain.TimeBudgetSeconds));
        Assert.Equal(TrainingMode.Auto, JobSettings.ForMode(TrainingMode.Auto).Mode);
        Assert.Empty(JobSettings.ForMode(TrainingMode.Auto, Backbone).Problems());
    }

    [Fact]
    public async Task TheDefaultBudgetScalesToTheSlowestEnabledWorkersMeasuredThroughput()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        await using (var db = await app.DbAsync())
        {
            // As last reported: its offer and its measured throughput (it does not answer now; what it said last counts).
            db.Workers.Add(new WorkerNode
            {
                Name = "slow-cpu", Address = "http://127.0.0.1:1", ProtectedToken = "x", TokenHint = "x", Backbones = Backbone,
                FeatureImagesPerSecond = 19, // 60 s × 50 / 19 = 158 s, rounded up to 160
            });
            db.Workers.Add(new WorkerNode
            {
                Name = "switched-off", Address = "http://127.0.0.1:1", ProtectedToken = "x", TokenHint = "x", Enabled = false,
                FeatureImagesPerSecond = 2, // disabled: never runs anything, so it does not count
            });
            await db.SaveChangesAsync();
        }
        try
        {
            var byDefault = await JobAsync(Id(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, mode = "auto" }))
                .JsonAsync(HttpStatusCode.Created)));
            Assert.Equal(160, byDefault.TimeBudgetSeconds);
            // A budget the caller gives is kept as given.
            var given = await JobAsync(Id(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, mode = "auto", timeBudgetSeconds = 45 }))
                .JsonAsync(HttpStatusCode.Created)));
            Assert.Equal(45, given.TimeBudgetSeconds);
            // The launch form starts from the same default and says why.
            var context = await app.InScopeAsync(sp => sp.GetRequiredService<JobService>().LaunchContextAsync(s.EditorId, datasetId));
            Assert.Equal(160, context.AutoBudget.Seconds);
            Assert.Contains("the slowest worker, slow-cpu, computes features at 19 images/s, slower than the 50", context.AutoBudget.Explanation);
        }
        finally
        {
            await using var db = await app.DbAsync();
            db.Workers.RemoveRange(db.Workers.Where(w => w.Name == "switched-off" || w.Name == "slow-cpu"));
            await db.SaveChangesAsync();
        }
        Assert.Equal(Contracts.Jobs.JobDefaults.AutoTimeBudgetSeconds, (await app.InScopeAsync(sp => sp.GetRequiredService<JobService>().AutoBudgetDefaultAsync())).Seconds);
    }

    [Theory]
    [InlineData("""{"mode":"auto","timeBudgetSeconds":0}""", "timeBudgetSeconds", "1 to 3600 seconds; got 0")]
    [InlineData("""{"mode":"auto","timeBudgetSeconds":3601}""", "timeBudgetSeconds", "got 3601")]
    [InlineData("""{"mode":"auto","timeBudgetSeconds":-30}""", "timeBudgetSeconds", "got -30")]
    [InlineData("""{"mode":"auto","augment":true}""", "augment", "Auto mode caches")]
    public async Task ABadBudgetOrAugmentationIsAnswered400WithItsFieldAndNothingIsQueued(string body, string field, string says)
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        var json = JsonNode.Parse(body)!.AsObject();
        json["backbone"] = Backbone;

        var problem = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", json)).JsonAsync(HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.EnumerateObject().Select(e => e.Name));
        Assert.Contains(says, errors.GetProperty(field).EnumerateArray().Single().GetString());
        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.Jobs.CountAsync(j => j.DatasetId == datasetId));
    }

    private static CandidateResult Scored(string name, double mean, int folds = 5, int rank = 0) =>
        new(name, $"name={name}", "accuracy", mean, mean - 0.1, Math.Min(1, mean + 0.1), mean - 0.02, folds, 0.25, rank);

    [Fact]
    public async Task CandidateScoresFillTheLeaderboardLiveAndTheWorkersFinalRankingReplacesIt()
    {
        var (s, datasetId) = await DatasetAsync();
        var id = (await app.InScopeAsync(sp => sp.GetRequiredService<JobService>().LaunchAsync(s.EditorId, datasetId,
            JobSettings.ForMode(TrainingMode.Auto, Backbone, 64))))[0];
        await using (var db = await app.DbAsync()) // what the scheduler does when it hands the run to a worker
            await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Starting).SetProperty(j => j.Attempt, 1));
        var events = app.Service<RunEventApplier>();
        var updates = 0;
        using var subscription = app.Service<JobNotifier>().SubscribeRun(id, _ => { Interlocked.Increment(ref updates); return Task.CompletedTask; });
        async Task<ModelSelection> StoredAsync() => ModelSelection.FromJson((await JobAsync(id)).LeaderboardJson)!;

        await events.ApplyAsync(id, new RunStarted(1, "cpu", 12, 4, 4, 1026, 11_000_000, 0), CancellationToken.None);
        Assert.Null((await JobAsync(id)).LeaderboardJson);
        await events.ApplyAsync(id, new RunCandidate(2, Scored("nearest-class-mean", 0.80)), CancellationToken.None);
        await events.ApplyAsync(id, new RunCandidate(3, Scored("logreg-std-C0.1", 0.90)), CancellationToken.None);

        var live = await StoredAsync();
        Assert.Equal(["logreg-std-C0.1", "nearest-class-mean"], live.Leaderboard.Select(c => c.Name)); // best mean first
        Assert.All(live.Leaderboard, c => Assert.Equal(0, c.Rank));
        Assert.False(live.IsFinal);

        // A second repetition of the folds sends the candidate again, cumulative: it replaces the first score.
        await events.ApplyAsync(id, new RunCandidate(4, Scored("nearest-class-mean", 0.95, folds: 10)), CancellationToken.None);
        await events.ApplyAsync(id, new RunCandidate(3, Scored("logreg-std-C0.1", 0.10)), CancellationToken.None); // a replay: ignored
        live = await StoredAsync();
        Assert.Equal([("nearest-class-mean", 0.95, 10), ("logreg-std-C0.1", 0.90, 5)], live.Leaderboard.Select(c => (c.Name, c.CvMean, c.Folds)));
        Assert.Equal(4, Volatile.Read(ref updates)); // every stored event told the open pages (not the replay)

        var page = await app.InScopeAsync(sp => sp.GetRequiredService<JobService>().GetAsync(s.EditorId, id));
        Assert.Equal(2, page!.Selection!.Leaderboard.Count);
        Assert.Equal(Contracts.Jobs.JobDefaults.AutoTimeBudgetSeconds, page.TimeBudgetSeconds);
        var api = await (await (await app.ApiClientAsync(s.EditorId)).GetAsync($"api/v1/jobs/{id}")).JsonAsync();
        Assert.False(api.GetProperty("leaderboard").GetProperty("final").GetBoolean());
        Assert.Equal(2, api.GetProperty("leaderboard").GetProperty("candidates").GetArrayLength());

        // Completed: the worker's ranked leaderboard (with a candidate scored in its last moments) replaces the live one.
        var final = new ModelSelection(
            [Scored("nearest-class-mean", 0.95, 10, rank: 1), Scored("logreg-l2-C1", 0.93, 10, rank: 2), Scored("logreg-std-C0.1", 0.90, 5, rank: 3)],
            "nearest-class-mean", "nearest-class-mean has the best mean accuracy over 10 folds.", ["logreg-std-C100: estimated 9 s, 1 s left"]);
        var evaluation = RunEvaluation.Compute("test", Classes, [("a".PadRight(64, '0'), 0, [0.9f, 0.1f]), ("b".PadRight(64, '0'), 1, [0.3f, 0.7f])]);
        Assert.Equal(Applied.Trained, await events.ApplyAsync(id, new RunTrained(5, evaluation, "model-1", 0, false, 12.5, final), CancellationToken.None));

        var job = await JobAsync(id);
        Assert.Equal(JobStatus.Finishing, job.Status);
        var stored = ModelSelection.FromJson(job.LeaderboardJson)!;
        Assert.Equal([1, 2, 3], stored.Leaderboard.Select(c => c.Rank));
        Assert.Equal(stored.Leaderboard[0].Name, stored.Winner);
        Assert.Equal(final.WinnerReason, stored.WinnerReason);
        Assert.Equal(final.Skipped, stored.Skipped);
        Assert.Contains(job.Logs, l => l.Message.StartsWith($"Trained: test accuracy {1.0:P1} with nearest-class-mean, chosen by cross-validation " +
            "(accuracy 95.0 %) among 3 candidates, 12.5 s in all."));

        api = await (await (await app.ApiClientAsync(s.EditorId)).GetAsync($"api/v1/jobs/{id}")).JsonAsync();
        var board = api.GetProperty("leaderboard");
        Assert.True(board.GetProperty("final").GetBoolean());
        Assert.Equal("nearest-class-mean", board.GetProperty("winner").GetString());
        Assert.Equal([1, 2, 3], board.GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("rank").GetInt32()));
        Assert.Equal(0.95, board.GetProperty("candidates")[0].GetProperty("cvMean").GetDouble(), 6);
    }

    [Fact]
    public async Task ACompletedAutoRunServesItsLeaderboardAsCsvAndOtherRunsSayTheyHaveNone()
    {
        var (s, datasetId) = await DatasetAsync();
        var featureRun = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.7f)]);
        var autoRun = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.9f), (1, 0.7f)]);
        var selection = new ModelSelection([Scored("logreg-l2-C1", 0.9, 10, rank: 1), Scored("=cmd", 0.8, 10, rank: 2)], "logreg-l2-C1", "Best.", []);
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == autoRun).ExecuteUpdateAsync(u => u.SetProperty(j => j.Mode, TrainingMode.Auto)
                .SetProperty(j => j.LeaderboardJson, selection.ToJson()));
        var viewer = await app.ApiClientAsync(s.ViewerId);

        var csv = await (await viewer.GetAsync($"api/v1/jobs/{autoRun}/leaderboard.csv")).Content.ReadAsStringAsync();
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("rank,candidate,params,", lines[0]);
        Assert.StartsWith("1,logreg-l2-C1,", lines[1]);
        Assert.StartsWith("2,'=cmd,", lines[2]); // a name is text, neutralised like every CSV cell
        Assert.Contains("only auto runs", await (await viewer.GetAsync($"api/v1/jobs/{featureRun}/leaderboard.csv")).ProblemAsync(HttpStatusCode.Conflict));
        await (await (await app.ApiClientAsync(s.OutsiderId)).GetAsync($"api/v1/jobs/{autoRun}/leaderboard.csv")).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public void TheModelCardOfAnAutoRunSaysWhichClassifierWasChosenAndHow()
    {
        var evaluation = RunEvaluation.Compute("test", Classes, [("a".PadRight(64, '0'), 0, [0.9f, 0.1f]), ("b".PadRight(64, '0'), 1, [0.3f, 0.7f])]);
        var selection = new ModelSelection([Scored("logreg-l2-C1", 0.9166, 10, rank: 1), Scored("nearest-class-mean", 0.85, 10, rank: 2)],
            "logreg-l2-C1", "logreg-l2-C1 has the best mean accuracy over 10 folds.", []);

        var card = ModelCard.Markdown(new ModelCardFacts(3, "p", "d", "v", DateTime.UtcNow, Backbone, null,
            JobSettings.ForMode(TrainingMode.Auto, Backbone).Describe(1), 12, 4, 4, evaluation, selection));

        Assert.Contains("- Mode: auto", card);
        Assert.Contains("- Classifier: chosen by cross-validation on train + val", card);
        Assert.Contains("## Model selection", card);
        Assert.Contains("**logreg-l2-C1** (name=logreg-l2-C1), cross-validated accuracy 91.7 % (95 % interval 81.7 % – 100.0 % over 10 folds)", card);
        Assert.Contains("the test split played no part", card);
        Assert.Contains("| 2 | nearest-class-mean | 85.0 % | 75.0 % – 95.0 % | 10 |", card);
        Assert.DoesNotContain("## Model selection", ModelCard.Markdown(new ModelCardFacts(3, "p", "d", "v", DateTime.UtcNow, Backbone, null,
            [], 12, 4, 4, evaluation)));
    }
}
