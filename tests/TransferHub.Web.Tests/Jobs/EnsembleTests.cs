using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Issue 14 item 7: an ensemble is made only once confirmed, with a name; its page sets the members' accuracies
/// beside its own; viewers may look at what it would combine but neither create nor name one (refused on the server
/// and not offered on the page); "Test an image" on an ensemble needs every member's model.</summary>
public sealed class EnsembleTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private T Service<T>() where T : notnull => app.Services.CreateScope().ServiceProvider.GetRequiredService<T>();

    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        return (s, datasetId);
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id);
    }

    /// <summary>Run #1 is sure of image A (a bag) and wrong about B (a sandal); run #2 the reverse: each scores 50 %, the
    /// ensemble 100 %.</summary>
    private async Task<(int First, int Second)> ComplementaryRunsAsync(int datasetId) =>
        (await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.45f)]),
         await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.45f), (1, 0.9f)]));

    [Fact]
    public async Task TheConfirmationListsTheRunsWithTheirAccuraciesAndTheEnsembleKeepsTheNameGiven()
    {
        var (s, datasetId) = await DatasetAsync();
        var (first, second) = await ComplementaryRunsAsync(datasetId);
        var comparison = Service<ComparisonService>();

        var plan = await comparison.PlanEnsembleAsync(s.EditorId, s.ProjectId, [first, second]);

        Assert.Null(plan.Problem);
        Assert.Equal(["Run #1", "Run #2"], plan.Members.Select(m => m.Title));
        Assert.Equal([0.5, 0.5], plan.Members.Select(m => m.Accuracy!.Value));
        Assert.Equal((2, "test"), (plan.Images, plan.Split));
        Assert.Equal("#1 + #2", plan.SuggestedName);

        var id = await comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], "  Complementary pair ");

        var ensemble = await JobAsync(id);
        Assert.Equal(("Complementary pair", 3, JobKind.Ensemble), (ensemble.Name, ensemble.Number, ensemble.Kind));
        var page = (await Service<JobService>().GetAsync(s.ViewerId, id))!;
        Assert.Equal("Ensemble #3 · Complementary pair", page.Run.DisplayName);
        Assert.Equal(1.0, page.Run.Accuracy);
        Assert.Equal([(first, 1, 0.5), (second, 2, 0.5)], page.Members.Select(m => (m.Id, m.Number, m.Accuracy!.Value)));
        var compared = await comparison.CompareAsync(s.ViewerId, s.ProjectId, [first, id]);
        Assert.Empty(compared.Runs[0].Members);
        Assert.Equal([("Run #1", 0.5), ("Run #2", 0.5)], compared.Runs[1].Members.Select(m => (m.Title, m.Accuracy!.Value)));

        // The same runs again: the suggestion moves on, a name already used is refused in words, an unnamed one is allowed.
        Assert.Equal("#1 + #2", (await comparison.PlanEnsembleAsync(s.EditorId, s.ProjectId, [first, second])).SuggestedName);
        await comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], "#1 + #2");
        Assert.Equal("#1 + #2 (2)", (await comparison.PlanEnsembleAsync(s.EditorId, s.ProjectId, [first, second])).SuggestedName);
        var taken = await Assert.ThrowsAsync<RuleViolationException>(() => comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], "COMPLEMENTARY pair"));
        Assert.Equal("Ensemble #3 of this project is already called \"COMPLEMENTARY pair\": choose another name.", taken.Message);
        await Assert.ThrowsAsync<InvalidInputException>(() => comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], new string('x', 101)));
        var unnamed = await comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], " ");
        Assert.Null((await JobAsync(unnamed)).Name);
    }

    [Fact]
    public async Task AViewerSeesWhatAnEnsembleWouldCombineButTheServerRefusesToCreateOrNameOne()
    {
        var (s, datasetId) = await DatasetAsync();
        var (first, second) = await ComplementaryRunsAsync(datasetId);
        var comparison = Service<ComparisonService>();
        var made = await comparison.EnsembleAsync(s.EditorId, s.ProjectId, [first, second], "Made by the editor");

        Assert.Equal(2, (await comparison.PlanEnsembleAsync(s.ViewerId, s.ProjectId, [first, second])).Members.Count);
        await Assert.ThrowsAsync<ForbiddenException>(() => comparison.EnsembleAsync(s.ViewerId, s.ProjectId, [first, second], "Mine"));
        await Assert.ThrowsAsync<ForbiddenException>(() => comparison.EnsembleAsync(s.ViewerId, s.ProjectId, [first, second]));
        await Assert.ThrowsAsync<ForbiddenException>(() => Service<JobService>().UpdateLabelsAsync(s.ViewerId, made, new RunLabelsChange { Name = "Renamed" }));
        await Assert.ThrowsAsync<NotFoundException>(() => comparison.PlanEnsembleAsync(s.OutsiderId, s.ProjectId, [first, second]));
        await Assert.ThrowsAsync<NotFoundException>(() => comparison.EnsembleAsync(s.OutsiderId, s.ProjectId, [first, second], "Theirs"));

        await using var db = await app.DbAsync();
        Assert.Equal(1, await db.Jobs.CountAsync(j => j.ProjectId == s.ProjectId && j.Kind == JobKind.Ensemble));
        Assert.Equal("Made by the editor", (await JobAsync(made)).Name);
    }

    [Fact]
    public async Task TheRunsPageOffersTheEnsembleActionToEditorsOnly()
    {
        var (s, datasetId) = await DatasetAsync();
        await ComplementaryRunsAsync(datasetId);
        var editor = await app.SignedInClientAsync(s.Email("editor"), s.EditorId);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        // The pre-rendered page, as the browser gets it before the circuit connects.
        var asEditor = await editor.GetStringAsync($"/projects/{s.ProjectId}/runs");
        var asViewer = await viewer.GetStringAsync($"/projects/{s.ProjectId}/runs");

        Assert.Contains("data-testid=\"ensemble\"", asEditor);
        Assert.Contains("data-testid=\"compare\"", asViewer);
        Assert.Contains("Run #2", asViewer);
        Assert.DoesNotContain("data-testid=\"ensemble\"", asViewer);
    }

    [Fact]
    public async Task ThePlanSaysWhyRunsCannotBeCombinedAndCreatingThemIsRefusedForTheSameReason()
    {
        var (s, datasetId) = await DatasetAsync();
        var a = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.9f)]);
        var elsewhere = await StoredRuns.CompletedAsync(app, datasetId, seed: 3, [(0, 0.9f)]); // evaluated on one image only
        var comparison = Service<ComparisonService>();

        var plan = await comparison.PlanEnsembleAsync(s.EditorId, s.ProjectId, [a, elsewhere]);

        Assert.Contains("different test images", plan.Problem);
        Assert.Equal([1.0, 1.0], plan.Members.Select(m => m.Accuracy!.Value));
        var refused = await Assert.ThrowsAsync<RuleViolationException>(() => comparison.EnsembleAsync(s.EditorId, s.ProjectId, [a, elsewhere], "x"));
        Assert.Equal(plan.Problem, refused.Message);

        var ensemble = await comparison.EnsembleAsync(s.EditorId, s.ProjectId, [a, await StoredRuns.CompletedAsync(app, datasetId, seed: 4, [(0, 0.8f), (1, 0.7f)])]);
        var nested = await comparison.PlanEnsembleAsync(s.EditorId, s.ProjectId, [a, ensemble]);
        Assert.Equal($"Only completed training runs can form an ensemble; Ensemble #{(await JobAsync(ensemble)).Number} is an ensemble.", nested.Problem);
    }

    [Fact]
    public async Task TestingAnImageWithAnEnsembleNeedsEveryMembersStoredModelAndSaysWhichIsMissing()
    {
        var (s, datasetId) = await DatasetAsync();
        var (first, second) = await ComplementaryRunsAsync(datasetId);
        var id = await Service<ComparisonService>().EnsembleAsync(s.EditorId, s.ProjectId, [first, second], "Pair");
        var evaluations = Service<EvaluationService>();
        var image = TestFiles.Photo("coffee.png");

        var missing = await Assert.ThrowsAsync<RuleViolationException>(() => evaluations.PredictAsync(s.ViewerId, id, image));
        Assert.Equal("This ensemble cannot classify images: run #1 has no stored model; run #2 has no stored model.", missing.Message);
        await Assert.ThrowsAsync<NotFoundException>(() => evaluations.PredictAsync(s.OutsiderId, id, image));

        await StoredRuns.StoreModelAsync(app, first);
        await StoredRuns.StoreModelAsync(app, second);
        await using (var db = await app.DbAsync())
            await db.Workers.ExecuteUpdateAsync(u => u.SetProperty(w => w.Enabled, false));
        var noWorker = await Assert.ThrowsAsync<RuleViolationException>(() => evaluations.PredictAsync(s.ViewerId, id, image));
        Assert.Contains("No worker is enabled", noWorker.Message);
    }
}
