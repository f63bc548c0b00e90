using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>Divergence is a result, not a crash (shared/cases arrows-and-colours-60.zip): the web once crashed storing
/// a NaN epoch and lost every epoch while the worker logged the run as completed.</summary>
public sealed class DivergenceTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task ARunWhoseLossBecomesNaNEndsDivergedWithEveryEpochKeptAndAdviceToLowerTheLearningRate()
    {
        var web = Keep(new WebHost(NewWorker()));
        var user = await web.CreateAdminAsync();
        var dataset = await web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Arrows");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Arrows", null);
            var id = await s.GetRequiredService<DatasetService>().CreateAsync(user, project, "Arrows and colours");
            await using var zip = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TestData", "cases", "arrows-and-colours-60.zip"));
            Assert.Equal(60, (await s.GetRequiredService<DatasetImportService>().ImportZipAsync(user, id, zip)).Accepted);
            return id;
        });
        // The settings of the case: fine-tune, SGD + momentum, learning rate 10, backbone multiplier 10, all stages, 64 px, batch 8.
        var settings = new JobSettings
        {
            Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FineTune, UnfreezeStages = 0, Optimizer = OptimizerChoice.SgdMomentum,
            LearningRate = 10, BackboneLrMultiplier = 10, Epochs = 3, BatchSize = 8, ImageSize = 64, EarlyStoppingPatience = 0, Seed = 1,
        };

        var id = Assert.Single(await LaunchAsync(web, user, dataset, settings));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");

        Assert.True(job.Status == JobStatus.Diverged, $"{job.Status}: {job.Message}");
        Assert.StartsWith("Diverged: Training diverged in epoch", job.Message);
        Assert.Contains("Lower the learning rate", job.Message);
        Assert.NotEmpty(job.Epochs);
        Assert.Equal(Enumerable.Range(1, job.Epochs.Count), job.Epochs.OrderBy(e => e.Epoch).Select(e => e.Epoch));
        var last = job.Epochs.MaxBy(e => e.Epoch)!;
        // NaN/infinity is stored as "no number" and the epoch kept: the training loss, or (when the last step broke the
        // weights) the validation loss the worker could not compute.
        Assert.True(last.TrainLoss is null || last.ValLoss is null, $"epoch {last.Epoch}: train {last.TrainLoss}, val {last.ValLoss}");
        Assert.False(last.IsBest);
        Assert.Null(job.ModelBytes);
        Assert.Null(job.EvaluationJson);

        // The run page and the API read it like any ended run: diverged, with its epochs.
        var details = await web.InScopeAsync(s => s.GetRequiredService<JobService>().GetAsync(user, id));
        Assert.Equal(JobStatus.Diverged, details!.Run.Status);
        Assert.Equal(job.Epochs.Count, details.Epochs.Count);
    }
}
