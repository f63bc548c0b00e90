using Bunit;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Viewer;
using TransferHub.Web.Storage;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>bUnit: the image viewer on the app's real services and database: arrow keys move, a digit key relabels
/// (asking first in a frozen test split), Delete asks, deletes and can be undone; a viewer-role member only looks.</summary>
public sealed class ImageViewerTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly BunitContext _context = new();
    private readonly ServiceScope _services = new(app);
    private IRenderedComponent<MudDialogProvider> _dialogs = default!;
    private IRenderedComponent<MudSnackbarProvider> _snackbars = default!;

    public Task InitializeAsync()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
        _context.Services.AddSingleton(TimeProvider.System);
        _context.Services.AddSingleton(app.Service<IDbContextFactory<TransferHubDbContext>>());
        _context.Services.AddSingleton(app.Service<DeletionUndo>());
        _context.Services.AddSingleton(app.Service<DatasetEvents>());
        _context.Services.AddSingleton(app.Service<ImageStore>());
        _context.Services.AddScoped<ClientSession>();
        _context.Services.AddScoped<CurationService>();
        _context.Services.AddScoped<DatasetService>();
        _context.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
        _dialogs = _context.Render<MudDialogProvider>();
        _snackbars = _context.Render<MudSnackbarProvider>();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _context.DisposeAsync();
        _services.Dispose();
    }

    /// <summary>Classes bag, sandal, sneaker (keys 1, 2, 3); one train image of each, then one test bag: ids in that order.</summary>
    private async Task<(TeamScenario S, int DatasetId, IReadOnlyList<long> Ids)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Viewer");
        var entries = new[] { "bag", "sandal", "sneaker" }.SelectMany(c => TestFiles.FashionEntries(c, 1, $"train/{c}"))
            .Concat(TestFiles.FashionEntries("bag", 2, "test/bag").Skip(1));
        Assert.Equal(4, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        var ids = await _services.Datasets.ImageIdsAsync(s.EditorId, datasetId, null, null);
        return (s, datasetId, ids);
    }

    private IRenderedComponent<ImageViewer> Render(string userId, int datasetId, IReadOnlyList<long> ids, int start, Action? changed = null) =>
        _context.Render<ImageViewer>(p => p.Add(c => c.DatasetId, datasetId).Add(c => c.UserId, userId)
            .Add(c => c.Items, [.. ids.Select(id => new ViewerItem(id))]).Add(c => c.StartIndex, start)
            .Add(c => c.OnChanged, () => changed?.Invoke()));

    private static Task PressAsync(IRenderedComponent<ImageViewer> viewer, string key) =>
        viewer.Find("[data-testid=image-viewer]").KeyDownAsync(new KeyboardEventArgs { Key = key });

    private static string Text(IRenderedComponent<ImageViewer> viewer, string testId) => viewer.Find($"[data-testid={testId}]").TextContent.Trim();

    private async Task<string?> LabelAsync(long imageId)
    {
        await using var db = await app.DbAsync();
        return await db.DatasetImages.Where(i => i.Id == imageId).Select(i => i.Class == null ? null : i.Class.Name).SingleAsync();
    }

    [Fact]
    public async Task ArrowKeysStepThroughTheImagesShowingEachWholeWithItsLabelAndSplit()
    {
        var (s, datasetId, ids) = await DatasetAsync();
        var viewer = Render(s.ViewerId, datasetId, ids, start: 1);
        // The position shows at once; the image's label and split once its details are read.
        viewer.WaitForAssertion(() => Assert.Equal(("2 of 4", "sandal"), (Text(viewer, "viewer-position"), Text(viewer, "viewer-label"))), Patience);

        await PressAsync(viewer, "ArrowRight");
        viewer.WaitForAssertion(() => Assert.Equal(("3 of 4", "sneaker", "train"),
            (Text(viewer, "viewer-position"), Text(viewer, "viewer-label"), Text(viewer, "viewer-split"))), Patience);
        var tile = await _services.Datasets.GetImageAsync(s.ViewerId, datasetId, ids[2]);
        Assert.Equal(DatasetImageEndpoints.OriginalUrl(datasetId, tile!.Sha256), viewer.Find("[data-testid=image-large]").GetAttribute("src"));

        await PressAsync(viewer, "ArrowRight");
        await PressAsync(viewer, "ArrowRight"); // past the last: stays
        viewer.WaitForAssertion(() => Assert.Equal(("4 of 4", "bag", "test"),
            (Text(viewer, "viewer-position"), Text(viewer, "viewer-label"), Text(viewer, "viewer-split"))), Patience);
        Assert.True(viewer.Find("[data-testid=viewer-next]").HasAttribute("disabled"));

        foreach (var _ in Enumerable.Range(0, 4)) await PressAsync(viewer, "ArrowLeft");
        viewer.WaitForAssertion(() => Assert.Equal("1 of 4", Text(viewer, "viewer-position")), Patience);
        Assert.True(viewer.Find("[data-testid=viewer-previous]").HasAttribute("disabled"));

        // A viewer-role member only looks: no label buttons, and digit keys change nothing.
        Assert.Empty(viewer.FindAll("[data-testid=viewer-classes]"));
        await PressAsync(viewer, "3");
        Assert.Equal("bag", await LabelAsync(ids[0]));
    }

    [Fact]
    public async Task ADigitKeyLabelsTheImageWithThatClassForAnEditor()
    {
        var (s, datasetId, ids) = await DatasetAsync();
        var changes = 0;
        var viewer = Render(s.EditorId, datasetId, ids, start: 0, () => changes++);
        viewer.WaitForAssertion(() => Assert.Equal(3, viewer.FindAll("[data-testid=viewer-class]").Count), Patience);
        Assert.Equal(["1 bag", "2 sandal", "3 sneaker"], viewer.FindAll("[data-testid=viewer-class]").Select(b => b.TextContent.Trim()));

        await PressAsync(viewer, "3");

        viewer.WaitForAssertion(() => Assert.Equal("sneaker", Text(viewer, "viewer-label")), Patience);
        Assert.Equal("sneaker", await LabelAsync(ids[0]));
        Assert.Equal(1, changes);
        await PressAsync(viewer, "9"); // no ninth class: nothing happens
        Assert.Equal("sneaker", await LabelAsync(ids[0]));
        Assert.Equal(1, changes);
    }

    [Fact]
    public async Task RelabellingAnImageOfAFrozenTestSplitWarnsFirst()
    {
        var (s, datasetId, ids) = await DatasetAsync();
        await app.InScopeAsync(async services =>
        {
            await services.GetRequiredService<Features.Datasets.Splits.DatasetSplitService>().SetTestSplitFrozenAsync(s.EditorId, datasetId, true);
            return true;
        });
        var viewer = Render(s.EditorId, datasetId, ids, start: 3);
        viewer.WaitForAssertion(() => Assert.Equal("test (frozen)", Text(viewer, "viewer-split")), Patience);

        // The key's handler waits for the answer: press, answer, then let the press finish.
        var pressing = PressAsync(viewer, "2");
        _dialogs.WaitForAssertion(() => Assert.Contains("in the test split, which is frozen", _dialogs.Markup), Patience);
        await _dialogs.FindAll("button").Single(b => b.TextContent.Trim() == "Cancel").ClickAsync(new());
        await pressing;
        Assert.Equal("bag", await LabelAsync(ids[3]));

        pressing = PressAsync(viewer, "2");
        _dialogs.WaitForAssertion(() => Assert.NotEmpty(_dialogs.FindAll("[data-testid=confirm]")), Patience);
        await _dialogs.Find("[data-testid=confirm]").ClickAsync(new());
        await pressing;
        viewer.WaitForAssertion(() => Assert.Equal("sandal", Text(viewer, "viewer-label")), Patience);
        Assert.Equal("sandal", await LabelAsync(ids[3]));
    }

    [Fact]
    public async Task DeleteAsksThenRemovesTheImageAndUndoPutsItBackIntoTheViewer()
    {
        var (s, datasetId, ids) = await DatasetAsync();
        var viewer = Render(s.EditorId, datasetId, ids, start: 1);
        viewer.WaitForAssertion(() => Assert.Equal("sandal", Text(viewer, "viewer-label")), Patience);

        var pressing = PressAsync(viewer, "Delete");
        _dialogs.WaitForAssertion(() => Assert.NotEmpty(_dialogs.FindAll("[data-testid=confirm]")), Patience);
        await _dialogs.Find("[data-testid=confirm]").ClickAsync(new());
        await pressing;

        viewer.WaitForAssertion(() => Assert.Equal("2 of 3", Text(viewer, "viewer-position")), Patience);
        Assert.Equal("sneaker", Text(viewer, "viewer-label")); // the next image takes its place
        Assert.Null(await _services.Datasets.GetImageAsync(s.EditorId, datasetId, ids[1]));

        _snackbars.WaitForAssertion(() => Assert.Contains("Undo", _snackbars.Markup), Patience);
        await _snackbars.FindAll("button").First(b => b.TextContent.Trim() == "Undo").ClickAsync(new());

        viewer.WaitForAssertion(() => Assert.Equal("2 of 4", Text(viewer, "viewer-position")), Patience);
        Assert.Equal("sandal", Text(viewer, "viewer-label"));
        Assert.NotNull(await _services.Datasets.GetImageAsync(s.EditorId, datasetId, ids[1]));
    }
}
