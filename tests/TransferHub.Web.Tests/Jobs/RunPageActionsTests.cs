using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>QA 2026-11-30: on a diverged run, "Retrain with the same settings" (which would diverge again) is not the most
/// prominent action; the launch form with the settings to change is.</summary>
public sealed class RunPageActionsTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task ADivergedRunLeadsToTheLaunchFormWithItsSettingsAndRetrainIsSecondary()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var completed = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.8f)]);
        var diverged = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.9f), (1, 0.8f)]);
        await using (var db = await app.DbAsync())
        {
            var job = await db.Jobs.SingleAsync(j => j.Id == diverged);
            job.Status = JobStatus.Diverged;
            await db.SaveChangesAsync();
        }
        var editor = await app.SignedInClientAsync(s.Email("editor"), s.EditorId);

        // The pre-rendered page, as the browser gets it before the circuit connects.
        var divergedPage = await editor.GetStringAsync($"/runs/{diverged}");
        var completedPage = await editor.GetStringAsync($"/runs/{completed}");

        Assert.Matches("<a[^>]*mud-button-filled-primary[^>]*data-testid=\"edit-and-launch\"", divergedPage);
        Assert.Contains($"href=\"datasets/{datasetId}/train?from={diverged}\"", divergedPage);
        Assert.Contains("Change settings and launch", divergedPage);
        Assert.Matches("<button[^>]*mud-button-text[^>]*data-testid=\"retrain\"", divergedPage);
        // A run that did not diverge keeps "Retrain" first.
        Assert.Matches("<button[^>]*mud-button-outlined[^>]*data-testid=\"retrain\"", completedPage);
        Assert.DoesNotContain("Change settings and launch", completedPage);
    }
}
