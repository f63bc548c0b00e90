using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>The launch form's "Find learning rate" from the web to a real worker: the images are sent, the range test
/// runs on the run's own settings and the curve comes back with its suggestion; nothing is queued.</summary>
public sealed class LearningRateFinderTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task TheWebGetsTheCurveAndASuggestionFromARealWorkerWithoutQueueingARun()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var settings = JobSettings.ForMode(TrainingMode.FeatureExtraction, "resnet18x3-imagenet", inputSize: 32);
        settings.BatchSize = 4;

        var found = await web.InScopeAsync(s => s.GetRequiredService<LearningRateFinderService>().FindAsync(user, dataset, settings, steps: 60));

        Assert.Null(found.Problem);
        var curve = found.Curve!;
        Assert.InRange(curve.Steps.Count, 10, 60);
        Assert.True(curve.Suggested <= curve.Minimum / 10 * (1 + 1e-9), $"suggested {curve.Suggested}, minimum at {curve.Minimum}");
        Assert.InRange(curve.Suggested, 1e-8, 1);
        Assert.Contains("lowest", curve.Explanation);
        Assert.All(curve.Steps, s => Assert.True(double.IsFinite(s.SmoothedLoss)));
        var queued = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.Jobs.CountAsync();
        });
        Assert.Equal(0, queued);
    }
}
