using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The run page's progress bar says how a run ended: a run that stopped short keeps its bar where it stopped
/// but not in the active blue (a QA walk-through read a diverged run's partial blue bar as "still training").</summary>
public sealed partial class RunProgressBarTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [GeneratedRegex("<div[^>]*data-testid=\"run-progress-bar\"[^>]*>")]
    private static partial Regex ProgressBar();

    [Theory]
    [InlineData(JobStatus.Completed, "mud-progress-linear-color-success")]
    [InlineData(JobStatus.Diverged, "mud-progress-linear-color-error")]
    [InlineData(JobStatus.Failed, "mud-progress-linear-color-error")]
    [InlineData(JobStatus.Cancelled, "mud-progress-linear-color-default")]
    [InlineData(JobStatus.Running, "mud-progress-linear-color-primary")]
    public async Task TheBarsColourSaysHowTheRunEnded(JobStatus status, string colour)
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes");
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(new string('a', 64), 0, 0.9f), (new string('b', 64), 1, 0.8f)]);
        // A running run is another (live) web instance's: this app's scheduler leaves it alone instead of taking it over
        // and finding no worker (which ended it as "worker lost" before the page was read, now and then).
        var lease = status.IsActive() ? DateTime.UtcNow.AddHours(1) : (DateTime?)null;
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, status)
                .SetProperty(j => j.LeaseOwner, lease is null ? null : "another-instance").SetProperty(j => j.LeaseExpiresAt, lease));
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var bar = ProgressBar().Match(await viewer.GetStringAsync($"runs/{jobId}"));

        Assert.True(bar.Success, "the run page has a progress bar");
        Assert.True(bar.Value.Contains(colour, StringComparison.Ordinal), bar.Value);
    }
}
