using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor.Services;
using TransferHub.Web.Features.Datasets.Live;

namespace TransferHub.Web.Tests.Datasets.Live;

/// <summary>bUnit: the presence chips, driven by the real presence tracker as other tabs come and go.</summary>
public sealed class DatasetViewersTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();
    private readonly DatasetPresence _presence = new(new Features.Instances.InProcessLiveBus(), TimeProvider.System,
        new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance),
        NullLogger<DatasetPresence>.Instance);

    public DatasetViewersTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
        _context.Services.AddSingleton(_presence);
        _context.Services.AddScoped<ClientSession>();
        _context.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true)); // as on a live circuit
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private IRenderedComponent<DatasetViewers> Render(int datasetId = 7) => _context.Render<DatasetViewers>(p => p
        .Add(c => c.DatasetId, datasetId).Add(c => c.UserId, "u-me").Add(c => c.UserName, "me@example.com"));

    private static string[] Chips(IRenderedComponent<DatasetViewers> viewers) =>
        [.. viewers.FindAll("[data-testid=viewer]").Select(c => c.TextContent.Trim())];

    [Fact]
    public void OthersViewingTheDatasetAppearAndDisappearAsTheyComeAndGo()
    {
        var ana = _presence.Join(7, Guid.NewGuid(), "u-ana", "ana@example.com");
        var viewers = Render();
        Assert.Equal(["Aana@example.com"], Chips(viewers)); // avatar initial, then the name

        var bo = _presence.Join(7, Guid.NewGuid(), "u-bo", "bo@example.com");
        _presence.Join(7, Guid.NewGuid(), "u-bo", "bo@example.com"); // Bo's second tab
        _presence.Join(8, Guid.NewGuid(), "u-cy", "cy@example.com"); // another dataset
        viewers.WaitForAssertion(() => Assert.Equal(["Aana@example.com", "Bbo@example.com"], Chips(viewers)));
        Assert.Contains("Also viewing", viewers.Markup);

        ana.Dispose();
        viewers.WaitForAssertion(() => Assert.Equal(["Bbo@example.com"], Chips(viewers)));
    }

    [Fact]
    public void TheCallerJoinsButIsNotShownToThemselvesAndLeavesWhenThePageCloses()
    {
        var viewers = Render();

        Assert.Empty(Chips(viewers));
        Assert.DoesNotContain("Also viewing", viewers.Markup);
        Assert.Equal(["u-me"], _presence.ViewersOf(7).Select(v => v.UserId));

        viewers.Instance.Dispose();
        Assert.Empty(_presence.ViewersOf(7));
    }
}
