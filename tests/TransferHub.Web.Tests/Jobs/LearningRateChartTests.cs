using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: the learning-rate finder's chart marks the suggestion, clips the take-off, and a click picks a rate.</summary>
public sealed class LearningRateChartTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public LearningRateChartTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private static LearningRateCurve Curve()
    {
        // Flat, falling, then exploding: rates 1e-6 … 1 over 7 steps, the last loss far above the first.
        double[] losses = [2.0, 2.0, 1.6, 0.9, 0.5, 0.4, 9.0];
        var steps = losses.Select((l, i) => new LearningRateStep(Math.Pow(10, i - 6), l, l)).ToList();
        return new LearningRateCurve(steps, Suggested: 1e-3, Minimum: 1e-1, Steepest: 1e-3, "explained", 1.5, "local");
    }

    [Fact]
    public void TheSuggestionIsMarkedThePointsBeyondTheTakeOffAreClippedAndAClickPicksARate()
    {
        double? picked = null;
        var chart = _context.Render<LearningRateChart>(p => p.Add(c => c.Curve, Curve()).Add(c => c.OnPick, rate => picked = rate));

        Assert.Contains("suggested 0.001", chart.Markup);
        Assert.NotNull(chart.Find("[data-testid=lr-suggested]"));
        var points = chart.FindAll("circle[data-lr]");
        Assert.Equal(6, points.Count); // the 9.0 take-off is above 1.5 × the first loss and is not drawn
        points[3].Click();
        Assert.Equal(1e-3, picked!.Value, 12);
        Assert.Equal("0.001", points[3].GetAttribute("data-lr"));
        Assert.Equal(7, chart.FindAll("text").Count(t => t.TextContent.StartsWith("1e", StringComparison.Ordinal))); // decades 1e-6 … 1e0
    }
}
