using Bunit;
using MudBlazor.Services;
using SkiaSharp;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Reports.Pdf;

namespace TransferHub.Web.Tests.Evaluation;

/// <summary>The confusion matrix's one colour scale: readable numbers on every shade it can produce, the same colours
/// on the web page and in the PDF, and the page's switch to row percentages.</summary>
public sealed class ConfusionScaleTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ConfusionScaleTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    /// <summary>Every share in steps of 1/10,000: finer than the ramp's byte steps (at most 51 per segment), so every
    /// colour the scale can paint is among them.</summary>
    private static IEnumerable<double> EveryStep() => Enumerable.Range(0, 10_001).Select(i => i / 10_000.0);

    [Fact]
    public void EveryShadeOfTheScaleCarriesItsNumberAtWcagAaContrast()
    {
        var colours = EveryStep().Select(ConfusionScale.Of).Distinct().ToList();
        Assert.True(colours.Count > 300, $"only {colours.Count} distinct colours: the sampling missed steps");

        foreach (var background in colours)
        {
            var text = ConfusionScale.TextOn(background);
            var contrast = Rgb.Contrast(background, text);
            Assert.True(contrast >= 4.5, $"{text.Hex} on {background.Hex}: {contrast:0.00}:1");
        }
        // An empty cell's quieter zero is readable too.
        Assert.True(Rgb.Contrast(ConfusionScale.Empty, ConfusionScale.ZeroText) >= 4.5);
        Assert.Equal(ConfusionScale.ZeroText, ConfusionScale.TextOf(0, 0));
    }

    [Fact]
    public void TheContrastRatioMatchesWcagReferenceValues()
    {
        Assert.Equal(21, Rgb.Contrast(ConfusionScale.Black, ConfusionScale.White), 3);
        Assert.Equal(1, Rgb.Contrast(new Rgb(0x42, 0x92, 0xC6), new Rgb(0x42, 0x92, 0xC6)), 3);
        Assert.Equal(4.54, Rgb.Contrast(new Rgb(0x76, 0x76, 0x76), ConfusionScale.White), 2); // WCAG's grey at the AA limit
    }

    [Fact]
    public void ThePdfPaintsEveryCellWithTheWebPagesColours()
    {
        foreach (var share in EveryStep().Where((_, i) => i % 7 == 0))
        {
            var web = ConfusionScale.Of(share);
            Assert.Equal(new SKColor(web.R, web.G, web.B), ReportColors.HeatOf(share));
            var text = ConfusionScale.TextOf(3, share);
            Assert.Equal(new SKColor(text.R, text.G, text.B), ReportColors.HeatTextOf(3, share));
        }
        Assert.Equal(ConfusionScale.Stops.Count, ReportColors.Heat.Length);
    }

    [Fact]
    public void TheMatrixShowsCountsShadedOnTheScaleAndOpensOnlyCellsWithImages()
    {
        ConfusionCell? opened = null;
        var matrix = _context.Render<ConfusionMatrix>(p => p.Add(c => c.ClassNames, ["cat", "dog"])
            .Add(c => c.Counts, [[5, 1], [0, 4]]).Add(c => c.OnCellSelected, cell => opened = cell));

        Assert.Equal("1", matrix.Find("[data-testid=cell-0-1]").TextContent.Trim());
        matrix.Find("[data-testid=cell-1-0]").Click();
        Assert.Null(opened);
        matrix.Find("[data-testid=cell-0-1]").Click();
        Assert.Equal(new ConfusionCell(0, 1), opened);

        // 5 of 6 cats: a dark shade with white text; 1 of 6: a light one with black; an empty cell the muted zero.
        var style = matrix.Find("[data-testid=cell-0-0]").GetAttribute("style")!;
        Assert.Contains($"background: {ConfusionScale.Of(5 / 6.0).Hex}", style);
        Assert.Contains("color: #FFFFFF", style);
        Assert.Contains("color: #000000", matrix.Find("[data-testid=cell-0-1]").GetAttribute("style"));
        Assert.Contains($"color: {ConfusionScale.ZeroText.Hex}", matrix.Find("[data-testid=cell-1-0]").GetAttribute("style"));
        Assert.Contains("diagonal", matrix.Find("[data-testid=cell-1-1]").ClassName);
        Assert.DoesNotContain("diagonal", matrix.Find("[data-testid=cell-0-1]").ClassName);
    }

    [Fact]
    public void TheSwitchShowsEachCellsShareOfItsTrueClassAndBackToCounts()
    {
        var matrix = _context.Render<ConfusionMatrix>(p => p.Add(c => c.ClassNames, ["cat", "dog", "owl"])
            .Add(c => c.Counts, [[5, 1, 0], [0, 4, 0], [1, 0, 299]]));
        string Cell(int row, int column) => matrix.Find($"[data-testid=cell-{row}-{column}]").TextContent.Trim();

        matrix.Find("input[data-testid=confusion-percentages]").Change(true);

        Assert.Equal(["83%", "17%", "0%"], [Cell(0, 0), Cell(0, 1), Cell(0, 2)]);
        Assert.Equal("100%", Cell(1, 1));
        Assert.Equal(("<1%", ">99%"), (Cell(2, 0), Cell(2, 2))); // 1 and 299 of 300 never round to 0% or 100%
        Assert.Contains("5 of 6 cat image(s) (83%) predicted as cat", matrix.Find("[data-testid=cell-0-0]").GetAttribute("title"));

        matrix.Find("input[data-testid=confusion-percentages]").Change(false);
        Assert.Equal("5", Cell(0, 0));
    }
}
