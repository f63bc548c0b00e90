using System.Globalization;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Features.Evaluation;

namespace TransferHub.Web.Tests.Evaluation;

/// <summary>bUnit: the reliability diagram draws one bar per non-empty bin, as high as the bin's accuracy, and a bin whose
/// images are all wrong still shows.</summary>
public sealed class ReliabilityDiagramTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ReliabilityDiagramTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public void EachNonEmptyBinHasABarAsHighAsItsAccuracyAndAnAllWrongBinStillShows()
    {
        // After: 0.58 and 0.62 right (bins 8 and 9), 0.88 wrong (bin 13). Before: 0.99 ×3 (bin 14, 2 of 3 right).
        var after = Reliability.Of([0.58, 0.62, 0.88], [true, true, false]);
        var before = Reliability.Of([0.99, 0.99, 0.99], [true, true, false]);

        var diagram = _context.Render<ReliabilityDiagram>(p => p.Add(d => d.Before, before).Add(d => d.After, after)
            .Add(d => d.Temperature, 1.354).Add(d => d.Split, "test"));

        var bars = diagram.FindAll("[data-testid=reliability-bar-after]");
        Assert.Equal(3, bars.Count);
        Assert.Single(diagram.FindAll("[data-testid=reliability-bar-before]"));
        double Height(AngleSharp.Dom.IElement bar) => double.Parse(bar.GetAttribute("height")!, CultureInfo.InvariantCulture);
        Assert.Equal([252.0, 252.0], [Height(bars[0]), Height(bars[1])]); // both 100 %: the whole plot height
        Assert.InRange(Height(bars[2]), 1, 3);                     // 0 %: a sliver, not nothing
        Assert.Contains("1 images", bars[2].TextContent);       // its tooltip
        Assert.Contains("accuracy 0", bars[2].TextContent);
        Assert.Contains("after (T = 1.354)", diagram.Find("figcaption").TextContent);
        Assert.Contains("Reliability on test (3 images)", diagram.Find("figcaption").TextContent);
    }
}
