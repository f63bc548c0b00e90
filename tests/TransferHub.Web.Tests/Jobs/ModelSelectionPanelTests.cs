using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: an auto run's leaderboard on its page, while it chooses and once it has chosen.</summary>
public sealed class ModelSelectionPanelTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ModelSelectionPanelTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private static CandidateResult Scored(string name, double mean, int rank = 0, string metric = "accuracy") =>
        new(name, $"preprocessing=x C={mean}", metric, mean, mean - 0.05, mean + 0.05, mean - 0.01, 10, 0.5, rank);

    private static RunDetails Run(JobStatus status, ModelSelection? selection, double? seconds = null) =>
        new(new RunSummary(7, 1, "Shoes", JobKind.Training, status, "resnet18x3-imagenet", TrainingMode.Auto, 1, null, new string('a', 64), 0, 0,
                status == JobStatus.Completed ? 0.9 : null, null, null, null, seconds, 0, 0, "w", null, DateTime.UtcNow, null, null, "test"),
            1, "Project", "Team", true, [], 1, "cpu", 12, 4, 4, [], [], status == JobStatus.Completed, ["bag", "sandal"], null, false)
        {
            TimeBudgetSeconds = 30,
            Selection = selection,
        };

    [Fact]
    public void WhileChoosingTheScoredCandidatesAppearUnrankedBestFirst()
    {
        var live = ModelSelection.Empty.WithScored(Scored("nearest-class-mean", 0.8)).WithScored(Scored("logreg-std-C0.1", 0.9));

        var panel = _context.Render<ModelSelectionPanel>(p => p.Add(c => c.Details, Run(JobStatus.Running, live)));

        Assert.Contains("Choosing a classifier: 2 scored so far", panel.Find("[data-testid=auto-status]").TextContent);
        Assert.Contains("time budget 30 s", panel.Markup);
        var rows = panel.FindAll("[data-testid=leaderboard] tbody tr");
        Assert.Equal(2, rows.Count);
        Assert.StartsWith("–", rows[0].Children[0].TextContent.Trim());
        Assert.Contains("logreg-std-C0.1", rows[0].TextContent);
        Assert.Contains("90.0 %", rows[0].TextContent);
        Assert.Contains("(85.0 % – 95.0 %)", rows[0].TextContent);
        Assert.Empty(panel.FindAll("[data-testid=leaderboard-winner]"));
        Assert.Empty(panel.FindAll("[data-testid=winner-reason]"));

        var waiting = _context.Render<ModelSelectionPanel>(p => p.Add(c => c.Details, Run(JobStatus.Running, null)));
        Assert.Contains("Computing features", waiting.Find("[data-testid=auto-status]").TextContent);
        Assert.Empty(waiting.FindAll("[data-testid=leaderboard]"));
    }

    [Fact]
    public void OnceChosenTheWinnerIsRankOneHighlightedWithItsReasonAndSkippedCandidatesAreListed()
    {
        var final = new ModelSelection([Scored("logreg-l2-C1", 0.98, rank: 1), Scored("nearest-class-mean", 0.85, rank: 2)], "logreg-l2-C1",
            "logreg-l2-C1 has the best mean accuracy over 10 folds (0.920).", ["logreg-std-C100: estimated 9.0 s for 5 folds, 1.2 s of the 30 s budget left"]);

        var panel = _context.Render<ModelSelectionPanel>(p => p.Add(c => c.Details, Run(JobStatus.Completed, final, seconds: 21)));

        Assert.Contains("Chose logreg-l2-C1 among 2 scored classifiers", panel.Find("[data-testid=auto-status]").TextContent);
        Assert.Contains("A larger time budget scores them too", panel.Markup);
        Assert.Contains("took 21 s", panel.Markup);
        var winner = panel.Find("[data-testid=leaderboard-winner]");
        Assert.Contains("leaderboard-winner", winner.ClassList);
        Assert.Equal("1", winner.Children[0].TextContent.Trim());
        Assert.Contains("logreg-l2-C1", winner.TextContent);
        Assert.Contains("winner", winner.TextContent);
        Assert.Contains("(93.0 % – 100.0 %)", winner.TextContent); // the t-interval passes 1 (1.03): a score cannot
        Assert.Equal("2", panel.Find("[data-testid=leaderboard-row]").Children[0].TextContent.Trim());
        Assert.Equal(final.WinnerReason, panel.Find("[data-testid=winner-reason]").TextContent.Trim());
        Assert.Contains("logreg-std-C100: estimated 9.0 s", panel.Find("[data-testid=skipped-candidates]").TextContent);
        Assert.Contains("CV accuracy (95 % CI)", panel.Find("[data-testid=leaderboard] thead").TextContent);
    }

    [Fact]
    public void ADefaultKeptBelowAHigherMeanIsTheHighlightedRowAndTheReasonSaysWhy()
    {
        // ADR 037: the board ranks by mean, but the default stays the winner when the higher mean is within noise.
        const string reason = "logreg-std-ls0.1-C0.1, the default, is kept. logreg-l2-C1 scored higher (92.1 %), but no classifier beat the default beyond cross-validation noise.";
        var final = new ModelSelection([Scored("logreg-l2-C1", 0.921, rank: 1), Scored("logreg-std-ls0.1-C0.1", 0.915, rank: 2), Scored("nearest-class-mean", 0.85, rank: 3)],
            "logreg-std-ls0.1-C0.1", reason, []);

        var panel = _context.Render<ModelSelectionPanel>(p => p.Add(c => c.Details, Run(JobStatus.Completed, final, seconds: 12)));

        Assert.Contains("Chose logreg-std-ls0.1-C0.1 among 3 scored classifiers", panel.Find("[data-testid=auto-status]").TextContent);
        var winner = Assert.Single(panel.FindAll("[data-testid=leaderboard-winner]"));
        Assert.Equal("2", winner.Children[0].TextContent.Trim());
        Assert.Contains("logreg-std-ls0.1-C0.1", winner.TextContent);
        Assert.Equal(["1", "3"], panel.FindAll("[data-testid=leaderboard-row]").Select(r => r.Children[0].TextContent.Trim()));
        Assert.Equal(reason, panel.Find("[data-testid=winner-reason]").TextContent.Trim());
    }

    [Fact]
    public void ImbalancedClassesAreRankedOnMacroF1WrittenWithThreeDecimals()
    {
        var final = new ModelSelection([Scored("logreg-std-balanced-C1", 0.7123, rank: 1, metric: "macro_f1")], "logreg-std-balanced-C1", "Only one.", []);

        var panel = _context.Render<ModelSelectionPanel>(p => p.Add(c => c.Details, Run(JobStatus.Completed, final)));

        Assert.Contains("CV macro F1 (95 % CI)", panel.Find("[data-testid=leaderboard] thead").TextContent);
        Assert.Contains("0.712", panel.Find("[data-testid=leaderboard-winner]").TextContent);
        Assert.Contains("the only classifier the time budget allowed", panel.Find("[data-testid=auto-status]").TextContent);
        Assert.Empty(panel.FindAll("[data-testid=skipped-candidates]"));
    }
}
