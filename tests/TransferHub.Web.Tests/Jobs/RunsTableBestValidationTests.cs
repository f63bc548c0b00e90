using System.Net;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>QA 2026-11-30: the Runs table's "Best val" read a diverged run's early 70 % like a result, and left auto runs
/// (no epochs: they choose by cross-validation) blank, so the run that failed looked like the only scored one.</summary>
public sealed partial class RunsTableBestValidationTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [GeneratedRegex("<span[^>]*data-testid=\"run-best-val-no-model\"[^>]*>([^<]*)</span>")]
    private static partial Regex NoModelCell();

    [Fact]
    public async Task ADivergedRunsBestValidationSaysItKeptNoModelAndAnAutoRunSaysItChoseByCrossValidation()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes");
        (int, float)[] images = [(0, 0.9f), (1, 0.8f)];
        await StoredRuns.CompletedAsync(app, datasetId, seed: 1, images);        // kept a model; epochs' best validation 70 %
        var diverged = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, images);
        var auto = await StoredRuns.CompletedAsync(app, datasetId, seed: 3, images);
        await using (var db = await app.DbAsync())
        {
            await db.Jobs.Where(j => j.Id == diverged).ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Diverged));
            await db.Jobs.Where(j => j.Id == auto).ExecuteUpdateAsync(u => u.SetProperty(j => j.Mode, TrainingMode.Auto));
            await db.JobEpochs.Where(e => e.JobId == auto).ExecuteDeleteAsync();
        }
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var response = await viewer.GetAsync($"/projects/{s.ProjectId}/runs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();

        var noModel = Assert.Single(NoModelCell().Matches(html));                   // the diverged run only, not the kept one
        Assert.Contains("title=\"The best validation accuracy before the run diverged; it kept no model.\"", noModel.Value);
        Assert.Contains("70", noModel.Groups[1].Value);
        Assert.Single(Regex.Matches(html, "data-testid=\"run-best-val-auto\""));
        Assert.Contains("chooses its classifier by cross-validation", html);
    }
}
