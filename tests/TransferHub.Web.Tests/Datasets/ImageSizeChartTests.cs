using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>bUnit: the image size histogram, ranges and the small-image warning.</summary>
public sealed class ImageSizeChartTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ImageSizeChartTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private static ImageSizeStats Stats(int[] counts, SizeRange width, SizeRange height)
    {
        var edges = ImageSizeStats.Edges;
        return new ImageSizeStats(counts.Sum(), [.. counts.Select((n, b) => new SizeBucket(b == 0 ? 0 : edges[b - 1], b < edges.Length ? edges[b] : null, n))],
            width, height);
    }

    private IRenderedComponent<ImageSizeChart> Render(ImageSizeStats stats) => _context.Render<ImageSizeChart>(p => p.Add(c => c.Sizes, stats));

    [Fact]
    public void EachShorterSideBucketIsABarScaledToTheLargestWithItsCount()
    {
        var chart = Render(Stats([1, 2, 2, 4, 1, 0], new SizeRange(20, 262, 4000), new SizeRange(30, 352.5, 3000)));

        var rows = chart.FindAll("[data-testid=size-bucket]");
        Assert.Equal(["< 64 px", "64–127 px", "128–223 px", "224–511 px", "512–1023 px", "≥ 1024 px"], rows.Select(r => r.QuerySelector(".size-label")!.TextContent.Trim()));
        Assert.Equal(["1", "2", "2", "4", "1", "0"], rows.Select(r => r.QuerySelector(".class-total")!.TextContent.Trim()));
        Assert.Equal(["width: 25%", "width: 50%", "width: 50%", "width: 100%", "width: 25%", "width: 0%"],
            rows.Select(r => r.QuerySelector(".class-bar > span")!.GetAttribute("style")!.Split(';')[0]));
        var ranges = chart.FindAll("[data-testid=size-ranges] tbody tr").Select(r => string.Join(" | ", r.Children.Select(c => c.TextContent.Trim())));
        Assert.Equal(["width | 20 px | 262 px | 4000 px", "height | 30 px | 352.5 px | 3000 px"], ranges);
    }

    [Fact]
    public void ImagesUnderTheUsualInputSizeAreWarnedAbout()
    {
        var chart = Render(Stats([1, 2, 2, 4, 1, 0], new SizeRange(20, 262, 4000), new SizeRange(30, 352, 3000)));

        Assert.Contains("5 of 10 images (50%) have a shorter side under 224 px", chart.Find("[data-testid=size-warning]").TextContent);
    }

    [Fact]
    public void LargeEnoughImagesAndAnEmptyDatasetGetNoWarning()
    {
        var large = Render(Stats([0, 0, 0, 3, 1, 1], new SizeRange(224, 600, 2000), new SizeRange(224, 500, 1500)));
        var empty = Render(Stats([0, 0, 0, 0, 0, 0], null!, null!));

        Assert.Empty(large.FindAll("[data-testid=size-warning]"));
        Assert.Contains("No images yet", empty.Markup);
        Assert.Empty(empty.FindAll("[data-testid=size-bucket]"));
    }
}
