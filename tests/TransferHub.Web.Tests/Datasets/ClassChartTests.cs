using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>bUnit: the class chart's bars and its too-few warnings.</summary>
public sealed class ClassChartTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ClassChartTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private IRenderedComponent<ClassChart> Render(params ClassCount[] classes) =>
        _context.Render<ClassChart>(p => p.Add(c => c.Classes, classes));

    [Fact]
    public void AWellStockedClassHasNoWarning()
    {
        var chart = Render(new ClassCount(1, "cat", 0, Train: 40, Val: 5, Test: 5, Unassigned: 0));

        Assert.Empty(chart.FindAll("[data-testid=class-warning]"));
        Assert.Single(chart.FindAll("[data-testid=class-row]"));
    }

    [Fact]
    public void ASmallClassIsWarnedAboutLearningAndEachThinEvaluationSplit()
    {
        var chart = Render(
            new ClassCount(1, "cat", 0, Train: 40, Val: 5, Test: 5, Unassigned: 0),
            new ClassCount(2, "dog", 1, Train: 4, Val: 0, Test: 2, Unassigned: 0));

        var warning = Assert.Single(chart.FindAll("[data-testid=class-warning]")).TextContent.Trim();
        Assert.StartsWith("dog: only 4 training images, too few to learn reliably", warning);
        Assert.Contains("only 0 validation and 2 test images, too few to evaluate reliably (aim for 3+ each)", warning);
        Assert.Equal(["only 1 test image, too few to evaluate reliably (aim for 3+)"],
            ClassChart.WarningsFor(new ClassCount(2, "dog", 1, Train: 20, Val: 3, Test: 1, Unassigned: 0)));
    }

    [Fact]
    public void ImagesWithoutASplitCountTowardsLearningButNotEvaluation()
    {
        var warnings = ClassChart.WarningsFor(new ClassCount(1, "cat", 0, Train: 0, Val: 3, Test: 3, Unassigned: 12));

        Assert.Empty(warnings);
    }

    [Fact]
    public void WhileTheNotSplitBlockerStandsOnlyTheTrainingWarningIsShown()
    {
        // QA 2026-11-30: the "not in a split yet" banner came with "only 0 validation and 0 test images" under every class.
        var chart = _context.Render<ClassChart>(p => p
            .Add(c => c.Classes, [new ClassCount(1, "cat", 0, 0, 0, 0, Unassigned: 50), new ClassCount(2, "dog", 1, 0, 0, 0, Unassigned: 4)])
            .Add(c => c.SplitPending, true));

        var warning = Assert.Single(chart.FindAll("[data-testid=class-warning]")).TextContent.Trim();
        Assert.Equal("dog: only 4 training images, too few to learn reliably (aim for 10+).", warning);
    }

    [Fact]
    public void BarsAreScaledToTheLargestClassWithOneSegmentPerSplit()
    {
        var chart = Render(
            new ClassCount(1, "cat", 0, Train: 30, Val: 5, Test: 5, Unassigned: 0),
            new ClassCount(2, "dog", 1, Train: 10, Val: 0, Test: 0, Unassigned: 10));

        var bars = chart.FindAll(".class-bar");
        Assert.Equal(["width: 75%", "width: 12.5%", "width: 12.5%", "width: 0%"],
            bars[0].Children.Select(s => s.GetAttribute("style")!.Split(';')[0]));
        Assert.Equal(["width: 25%", "width: 0%", "width: 0%", "width: 25%"],
            bars[1].Children.Select(s => s.GetAttribute("style")!.Split(';')[0]));
        Assert.Contains("dog: 10 train, 0 validation, 0 test, 10 without a split", bars[1].GetAttribute("title"));
    }

    [Fact]
    public void NoClassesSaysSo()
    {
        var chart = Render();

        Assert.Contains("No classes yet", chart.Markup);
    }
}
