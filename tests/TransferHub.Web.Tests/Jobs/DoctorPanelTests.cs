using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Features.Jobs.Doctor;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: what the doctor's panel says when it has nothing to report, for a run going, a finished run and an
/// ensemble (a finished ensemble said "Nothing to report so far.", as if more were coming).</summary>
public sealed class DoctorPanelTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public DoctorPanelTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Theory]
    [InlineData(false, false, "Nothing to report so far.")]
    [InlineData(true, false, "No problems found in this run's curves, settings or data.")]
    [InlineData(true, true, "An ensemble trains nothing itself: its members' pages have the findings about their training.")]
    public void AnEmptyListSaysWhatItMeansForThisRun(bool finished, bool ensemble, string expected)
    {
        var panel = _context.Render<DoctorPanel>(p => p.Add(c => c.Findings, []).Add(c => c.Finished, finished).Add(c => c.Ensemble, ensemble));

        Assert.Equal(expected, panel.Find("[data-testid=doctor-none]").TextContent.Trim());
    }
}
