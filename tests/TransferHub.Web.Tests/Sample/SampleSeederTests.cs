using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Sample;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Sample;

/// <summary>A web app starting on an empty database with the sample on (as ./run.sh does).</summary>
public sealed class SampleWebAppFactory : WebAppFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Sample:Enabled"] = "true",
        ["Sample:Folder"] = Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist"),
    };
}

public sealed class SampleSeederTests(SampleWebAppFactory app) : IClassFixture<SampleWebAppFactory>
{
    [Fact]
    public async Task AFreshInstallationHasADemoAccountWithASplitDatasetReadyToTrain()
    {
        var browser = new BrowserlessClient(app.CreateClient());
        var (_, html) = await browser.LogInAsync("demo@transferhub.local", "Demo-pass-1");
        Assert.Contains("demo@transferhub.local", html);

        await using var db = await app.DbAsync();
        var demo = await db.Users.SingleAsync();
        var dataset = await db.Datasets.Include(d => d.Project!.Team).SingleAsync(d => d.Name == "Fashion sample");
        Assert.Equal(("Sample project", "Demo team"), (dataset.Project!.Name, dataset.Project.Team!.Name));
        Assert.True(dataset.TestSplitFrozen);
        var images = await db.DatasetImages.Where(i => i.DatasetId == dataset.Id).ToListAsync();
        Assert.Equal(160, images.Count);
        Assert.Equal(4, images.Select(i => i.ClassId).Distinct().Count());
        Assert.DoesNotContain(images, i => i.Split == DatasetSplit.Unassigned);
        Assert.Equal(24, images.Count(i => i.Split == DatasetSplit.Test));

        // Nothing stands between the demo account and a first run.
        var context = await app.InScopeAsync(s => s.GetRequiredService<JobService>().LaunchContextAsync(demo.Id, dataset.Id));
        Assert.Empty(context.Blockers);
        Assert.True(context.CanEdit);
        Assert.Equal(["bag", "sneaker", "trouser", "tshirt"], context.ClassNames.Order());

        // Seeding happens once: with an account present it does nothing.
        Assert.False(await app.InScopeAsync(s => s.GetRequiredService<SampleSeeder>().SeedAsync()));
        Assert.Equal(1, await db.Datasets.CountAsync());
    }
}
