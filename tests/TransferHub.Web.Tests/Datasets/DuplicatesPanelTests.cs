using Bunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using SkiaSharp;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;
using TransferHub.Web.Storage;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>bUnit: the near-duplicates panel starts its search in the app's real <see cref="DatasetWork"/>, shows its
/// progress with a Cancel button, and shows the groups when it ends.</summary>
public sealed class DuplicatesPanelTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly BunitContext _context = new();
    private readonly ServiceScope _services = new(app);

    public Task InitializeAsync()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
        _context.Services.AddSingleton(app.Service<DatasetWork>());
        _context.Services.AddSingleton(app.Service<IDbContextFactory<TransferHubDbContext>>());
        _context.Services.AddSingleton(app.Service<DeletionUndo>());
        _context.Services.AddSingleton(app.Service<DatasetEvents>());
        _context.Services.AddSingleton(app.Service<ImageStore>());
        _context.Services.AddScoped<ClientSession>();
        _context.Services.AddScoped<CurationService>();
        _context.Services.AddSingleton(_services.Get<DuplicateService>());
        _context.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _context.DisposeAsync();
        _services.Dispose();
    }

    private static byte[] HalfSizeJpeg(byte[] data)
    {
        using var bitmap = SKBitmap.Decode(data);
        using var small = bitmap.Resize(new SKImageInfo(bitmap.Width / 2, bitmap.Height / 2), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var encoded = small.Encode(SKEncodedImageFormat.Jpeg, 70);
        return encoded.ToArray();
    }

    private async Task<(string UserId, int DatasetId)> LeakyDatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Pets");
        var cat = TestFiles.Photo("chelsea.jpg");
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("train/cat/chelsea.jpg", cat),
            ("test/cat/chelsea-small.jpg", HalfSizeJpeg(cat)), ("train/cup/coffee.png", TestFiles.Photo("coffee.png"))));
        return (s.ViewerId, datasetId);
    }

    private IRenderedComponent<DuplicatesPanel> Render(string userId, int datasetId, bool canEdit = false) => _context.Render<DuplicatesPanel>(p => p
        .Add(c => c.DatasetId, datasetId).Add(c => c.UserId, userId).Add(c => c.CanEdit, canEdit));

    [Fact]
    public async Task NotDuplicatesRemovesTheGroupAndANewSearchDoesNotShowItAgain()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Pets");
        var cat = TestFiles.Photo("chelsea.jpg");
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(("train/cat/chelsea.jpg", cat),
            ("test/cat/chelsea-small.jpg", HalfSizeJpeg(cat)), ("train/cup/coffee.png", TestFiles.Photo("coffee.png"))));
        _context.Render<MudBlazor.MudPopoverProvider>();
        _context.Render<MudBlazor.MudSnackbarProvider>();
        var panel = Render(s.EditorId, datasetId, canEdit: true);
        await panel.Find("[data-testid=find-duplicates]").ClickAsync(new());
        panel.WaitForAssertion(() => Assert.Single(panel.FindAll("[data-testid=duplicate-group]")), Patience);

        await panel.Find("[data-testid=not-duplicates]").ClickAsync(new());

        panel.WaitForAssertion(() => Assert.Empty(panel.FindAll("[data-testid=duplicate-group]")), Patience);
        await panel.Find("[data-testid=find-duplicates]").ClickAsync(new());
        panel.WaitForAssertion(() => Assert.Contains("1 pair(s) marked not duplicates were left apart", panel.Find("[data-testid=duplicates-method]").TextContent), Patience);
        Assert.Single(panel.FindAll("[data-testid=duplicates-none]"));
    }

    [Fact]
    public async Task TheSearchRunsInTheBackgroundAndItsGroupsAppearWhenItEnds()
    {
        var (userId, datasetId) = await LeakyDatasetAsync();
        var panel = Render(userId, datasetId);

        await panel.Find("[data-testid=find-duplicates]").ClickAsync(new());

        panel.WaitForAssertion(() => Assert.Single(panel.FindAll("[data-testid=duplicate-group]")), Patience);
        Assert.Single(panel.FindAll("[data-testid=leak]"));
        Assert.Empty(panel.FindAll("[data-testid=duplicates-progress]"));
        // No worker in this app: the panel says how it compared instead, and what that misses.
        Assert.Contains("difference hashes were compared", panel.Find("[data-testid=duplicates-method]").TextContent);
        Assert.Equal(2, panel.FindAll("[data-testid=duplicate-similarity]").Count);
    }

    [Fact]
    public async Task ARunningSearchShowsItsProgressAndCancelStopsItWithoutResults()
    {
        var (userId, datasetId) = await LeakyDatasetAsync();
        using var release = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        // Holds the search at its first comparison step (handlers run on the search's own thread).
        using var hold = app.Service<DatasetWork>().SubscribeDataset(datasetId, update =>
        {
            if (update is { State: DatasetWorkState.Running, Step.Phrase: "comparing", Step.Done: 0 })
            {
                held.Set();
                release.Wait(Patience);
            }
            return Task.CompletedTask;
        });
        var panel = Render(userId, datasetId);

        await panel.Find("[data-testid=find-duplicates]").ClickAsync(new());
        Assert.True(held.Wait(Patience));
        panel.WaitForAssertion(() => Assert.Contains("Comparing: 0 of 3 images", panel.Find("[data-testid=duplicates-progress]").TextContent), Patience);
        Assert.True(panel.Find("[data-testid=find-duplicates]").HasAttribute("disabled"));

        await panel.Find("[data-testid=cancel-duplicates]").ClickAsync(new());
        release.Set();

        panel.WaitForAssertion(() => Assert.Empty(panel.FindAll("[data-testid=duplicates-progress]")), Patience);
        Assert.Empty(panel.FindAll("[data-testid=duplicate-group]"));
        Assert.Empty(panel.FindAll("[data-testid=duplicates-none]"));
        Assert.False(panel.Find("[data-testid=find-duplicates]").HasAttribute("disabled"));
    }
}
