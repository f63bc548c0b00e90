using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: the live curves and the comparison panel (the confusion matrix: Evaluation/ConfusionScaleTests).</summary>
public sealed class RunComponentsTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public RunComponentsTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private static EpochPoint Epoch(int n, double? val, bool best = false) => new(n, 1.0 / n, 0.5 + n / 20.0, val is null ? null : 1 - val, val, 1, 100, best);

    [Fact]
    public void TheLearningRateAndADivergingLossKeepTheirTickLabelsShortEnoughForTheAxis()
    {
        // The QA walk-through saw "2500000000000000000" and "001125" cut off at the chart's left edge.
        var rates = Enumerable.Range(1, 6).Select(n => new EpochPoint(n, 1, 0.5, 1, 0.5, 1, 100, false, 0.0012 / n)).ToList();
        var lr = _context.Render<CurveChart>(p => p.Add(c => c.Title, "Learning rate").Add(c => c.Series, CurveSeries.LearningRate(rates))
            .Add(c => c.Format, "0.######"));
        var loss = _context.Render<CurveChart>(p => p.Add(c => c.Title, "Loss").Add(c => c.Series, CurveSeries.Loss(
            [new EpochPoint(1, 18_779, 0.3, 20, 0.25, 1, 100, false), new EpochPoint(2, 33_708_580, 0.25, 20, 0.25, 1, 100, false)])));

        var ticks = lr.FindAll("text").Select(t => t.TextContent).Concat(loss.FindAll("text").Select(t => t.TextContent)).ToList();

        Assert.Contains(ticks, t => t.EndsWith("E-3", StringComparison.Ordinal) || t.EndsWith("E-4", StringComparison.Ordinal));
        Assert.Contains(ticks, t => t.EndsWith("E+7", StringComparison.Ordinal));
        Assert.All(ticks, t => Assert.True(t.Length <= 8, $"tick '{t}' is too long for the axis"));
    }

    [Fact]
    public void TheChartGrowsAPointPerEpochAndSkipsEpochsWithoutAValue()
    {
        var epochs = new List<EpochPoint> { Epoch(1, 0.6), Epoch(2, null), Epoch(3, 0.8, best: true) };
        var chart = _context.Render<CurveChart>(p => p.Add(c => c.Title, "Accuracy").Add(c => c.Series, CurveSeries.Accuracy(epochs))
            .Add(c => c.YRange, (0, 1)).Add(c => c.MinEpochs, 10));

        Assert.Equal(3, chart.FindAll("circle[data-series='train accuracy']").Count);
        Assert.Equal(2, chart.FindAll("circle[data-series='val accuracy']").Count);
        Assert.Single(chart.FindAll("circle[data-series='val accuracy'][r='4.5']")); // the best epoch stands out
        Assert.Equal(3, chart.Find("polyline[data-series='train accuracy']").GetAttribute("points")!.Split(' ').Length);
        Assert.Contains("10", chart.FindAll("text").Select(t => t.TextContent)); // room for the epochs still to come

        epochs.Add(Epoch(4, 0.85));
        chart.Render(p => p.Add(c => c.Series, CurveSeries.Accuracy(epochs)));
        Assert.Equal(4, chart.FindAll("circle[data-series='train accuracy']").Count);
    }

    [Fact]
    public void TimeLeftFollowsThePaceOfTheEpochsAfterTheFirst()
    {
        // The first epoch of a feature-extraction run computes the features (40 s); later epochs reuse them (2 s each).
        RunSummary Run(int done) => new(1, 1, "d", JobKind.Training, JobStatus.Running, "b", TrainingMode.FeatureExtraction, 1, null, "v", done, 10,
            null, null, null, null, null, 0, 0, "w", null, DateTime.UtcNow, null, null, null);
        RunDetails Details(params double[] seconds) => new(Run(seconds.Length), 1, "p", "t", true, [], 1, "cpu", 10, 2, 2,
            [.. seconds.Select((s, i) => new EpochPoint(i + 1, 1, 0.5, 1, 0.5, s, 100, false))], [], false, ["a", "b"], null, false);

        Assert.Null(Details().SecondsLeft);
        Assert.Equal(9 * 40.0, Details(40).SecondsLeft);               // only the first epoch to go by
        Assert.Equal(7 * 2.0, Details(40, 2, 2).SecondsLeft);          // not 7 × 14.7 s, the mean with the first
        Assert.Equal(6 * 3.0, Details(40, 2, 4, 3).SecondsLeft);
    }

    [Fact]
    public void TheComparisonShowsSeedGroupsAsMeanPlusMinusStdAndARowPerRun()
    {
        RunSummary Run(int id, long seed, double accuracy) => new(id, 1, "d", JobKind.Training, JobStatus.Completed, "resnet18x3-imagenet",
            TrainingMode.FineTune, seed, "g", "v", 3, 3, accuracy, 0.8, 0.9, 0.85, 12, 11_000_000, 1_000_000, "w", null, DateTime.UtcNow, null, null, "test");
        var runs = new[] { Run(1, 1, 0.8), Run(2, 2, 0.9) }
            .Select(r => new ComparedRun(r, [new("Learning rate", "0.001")], [Epoch(1, 0.7), Epoch(2, 0.9)])).ToList();
        var view = new ComparisonView(runs, [new SeedGroupRow("resnet, fine-tune", [1, 2], Spread.Of([0.8, 0.9]), Spread.Of([0.8, 0.8]), null)],
            SameTestImages: true);

        var panel = _context.Render<ComparisonPanel>(p => p.Add(c => c.View, view));

        Assert.Equal(2, panel.FindAll("[data-testid=compared-run]").Count);
        var group = panel.Find("[data-testid=seed-group]").TextContent;
        Assert.Contains("85.0", group);
        Assert.Contains("± 7.1", group); // sample std of 80 % and 90 %
        Assert.Equal(2, panel.FindAll("[data-testid=compare-accuracy] polyline").Count);
        Assert.Empty(panel.FindAll("[data-testid=test-set-note]"));
    }
}
