using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Features.Models;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: the run page's "Take the model out" box for a run and for an ensemble.</summary>
public sealed class ModelDownloadsTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ModelDownloadsTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private IRenderedComponent<ModelDownloads> Render(bool hasModelZip, bool isEnsemble) => _context.Render<ModelDownloads>(p => p
        .Add(c => c.JobId, 12).Add(c => c.HasModelZip, hasModelZip).Add(c => c.IsEnsemble, isEnsemble));

    private static string? Link(IRenderedComponent<ModelDownloads> box, string testId) =>
        box.FindAll($"[data-testid={testId}]").SingleOrDefault()?.GetAttribute("href");

    [Fact]
    public void ARunOffersItsModelZipOnnxAndModelCard()
    {
        var box = Render(hasModelZip: true, isEnsemble: false);

        Assert.Equal("runs/12/model.zip", Link(box, "download-model"));
        Assert.Equal("runs/12/model.onnx", Link(box, "export-onnx"));
        Assert.Equal("runs/12/model-card.md", Link(box, "model-card"));
        Assert.Contains("resized as this run resized them", box.Find("[data-testid=onnx-note]").TextContent);
    }

    [Fact]
    public void AnEnsembleOffersOneOnnxGraphAndItsModelCardButNoModelZip()
    {
        var box = Render(hasModelZip: false, isEnsemble: true);

        Assert.Null(Link(box, "download-model"));
        Assert.Equal("runs/12/model.onnx", Link(box, "export-onnx"));
        Assert.Equal("runs/12/model-card.md", Link(box, "model-card"));
        Assert.Contains("averages the members' probabilities", box.Find("[data-testid=onnx-note]").TextContent);
    }
}
