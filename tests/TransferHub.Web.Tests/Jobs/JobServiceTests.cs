using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;
using Wire = TransferHub.Worker.V1;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Launching, cancelling, re-queueing, comparing and ensembling runs through the services, with no worker
/// (the worker side is covered in the integration tests), and who may do what.</summary>
public sealed class JobServiceTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private T Service<T>() where T : notnull => app.Services.CreateScope().ServiceProvider.GetRequiredService<T>();

    private static JobSettings Quick(int repeats = 1) => new()
    {
        Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FeatureExtraction, Epochs = 3, EarlyStoppingPatience = 0, ImageSize = 64,
        Seed = 10, Repeats = repeats,
    };

    /// <summary>Bags and sandals laid out in train/val/test folders (6/2/2 each).</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync(bool split = true)
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var entries = new List<(string, byte[])>();
        foreach (var cls in new[] { "bag", "sandal" })
        {
            var files = TestFiles.FashionEntries(cls, 10, cls).ToList();
            entries.AddRange(files.Select((f, i) => ((split ? (i < 6 ? "train/" : i < 8 ? "val/" : "test/") : "") + f.Path, f.Data)));
        }
        Assert.Equal(20, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id);
    }

    [Fact]
    public async Task LaunchingWithSeedsQueuesOneRunPerSeedWithTheDataItWasLaunchedOnAndTheDatasetVersion()
    {
        var (s, datasetId) = await DatasetAsync();

        var ids = await Service<JobService>().LaunchAsync(s.EditorId, datasetId, Quick(repeats: 3));

        Assert.Equal(3, ids.Count);
        var version = await Service<DatasetSplitService>().VersionAsync(s.EditorId, datasetId);
        var jobs = await Task.WhenAll(ids.Select(JobAsync));
        Assert.Equal([10L, 11L, 12L], jobs.Select(j => j.Seed));
        Assert.Single(jobs.Select(j => j.SeedGroup).Distinct());
        Assert.NotNull(jobs[0].SeedGroup);
        Assert.All(jobs, j => Assert.Equal(version, j.DatasetVersion));
        var spec = Wire.JobSpec.Parser.ParseFrom(jobs[0].Spec);
        Assert.Equal(20, spec.Items.Count);
        Assert.Equal(12, spec.Items.Count(i => i.Split == Wire.Split.Train));
        Assert.Equal(4, spec.Items.Count(i => i.Split == Wire.Split.Test));
        Assert.Equal(["bag", "sandal"], spec.ClassNames.Order());
        Assert.Equal(version, spec.DatasetVersion);
        Assert.Equal(10, spec.Seed);
        Assert.Equal(Wire.JobMode.FeatureExtraction, spec.Mode);
    }

    [Fact]
    public async Task WithNoWorkerARunWaitsInTheQueueAndSaysWhy()
    {
        var (s, datasetId) = await DatasetAsync();
        var id = (await Service<JobService>().LaunchAsync(s.EditorId, datasetId, Quick()))[0];

        var deadline = DateTime.UtcNow.AddSeconds(30);
        TrainingJob job;
        do
        {
            await Task.Delay(100);
            job = await JobAsync(id);
        } while (job.Message is null && DateTime.UtcNow < deadline);

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal("Waiting: no online worker offers resnet18x3-imagenet.", job.Message);
    }

    [Fact]
    public async Task ALaunchIsRefusedWithTheReasonWhenImagesHaveNoSplitOrTheSettingsContradictEachOther()
    {
        var (s, unsplit) = await DatasetAsync(split: false);
        var jobs = Service<JobService>();

        var noSplit = await Assert.ThrowsAsync<RuleViolationException>(() => jobs.LaunchAsync(s.EditorId, unsplit, Quick()));
        // One reason, the one the launch form shows (not also "no image in the train split", which follows from it).
        Assert.Equal("The 20 labelled images are not in a split yet: a model learns from the train split and is measured on the validation and test splits.",
            noSplit.Message);

        var (s2, dataset) = await DatasetAsync();
        var augmented = Quick();
        augmented.Augment = true;
        var contradiction = await Assert.ThrowsAsync<InvalidInputException>(() => jobs.LaunchAsync(s2.EditorId, dataset, augmented));
        Assert.Equal("augment", Assert.Single(contradiction.Problems).Field);
        Assert.Contains("augmentation cannot apply", contradiction.Message);
        var context = await jobs.LaunchContextAsync(s2.EditorId, dataset);
        Assert.Equal((12, 4, 4), (context.Train, context.Val, context.Test));
        Assert.Empty(context.Blockers);
    }

    [Fact]
    public async Task CancellingAQueuedRunEndsItAtOnceAndItCanBeRequeued()
    {
        var (s, datasetId) = await DatasetAsync();
        var jobs = Service<JobService>();
        var id = (await jobs.LaunchAsync(s.EditorId, datasetId, Quick()))[0];

        await jobs.CancelAsync(s.EditorId, id);
        Assert.Equal(JobStatus.Cancelled, (await JobAsync(id)).Status);
        await Assert.ThrowsAsync<RuleViolationException>(() => jobs.CancelAsync(s.EditorId, id));

        await jobs.RequeueAsync(s.OwnerId, id);
        var again = await JobAsync(id);
        Assert.Equal(JobStatus.Queued, again.Status);
        Assert.False(again.CancelRequested);
        await Assert.ThrowsAsync<RuleViolationException>(() => jobs.RequeueAsync(s.OwnerId, id));
    }

    [Fact]
    public async Task OutsidersCannotSeeRunsAndViewersCannotChangeThem()
    {
        var (s, datasetId) = await DatasetAsync();
        var jobs = Service<JobService>();
        var id = (await jobs.LaunchAsync(s.EditorId, datasetId, Quick()))[0];
        var finished = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.8f)]);
        var other = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.9f), (1, 0.8f)]);

        // Outsiders: as if the runs did not exist.
        Assert.Null(await jobs.GetAsync(s.OutsiderId, id));
        await Assert.ThrowsAsync<NotFoundException>(() => jobs.LaunchAsync(s.OutsiderId, datasetId, Quick()));
        await Assert.ThrowsAsync<NotFoundException>(() => jobs.CancelAsync(s.OutsiderId, id));
        await Assert.ThrowsAsync<NotFoundException>(() => jobs.RetrainAsync(s.OutsiderId, finished));
        await Assert.ThrowsAsync<NotFoundException>(() => jobs.ListAsync(s.OutsiderId, s.ProjectId));
        await Assert.ThrowsAsync<NotFoundException>(() => Service<EvaluationService>().GetAsync(s.OutsiderId, finished));
        await Assert.ThrowsAsync<NotFoundException>(() => Service<EvaluationService>().PredictAsync(s.OutsiderId, finished, [1, 2, 3]));
        await Assert.ThrowsAsync<NotFoundException>(() => Service<ComparisonService>().CompareAsync(s.OutsiderId, s.ProjectId, [finished, other]));
        await Assert.ThrowsAsync<NotFoundException>(() => Service<ComparisonService>().EnsembleAsync(s.OutsiderId, s.ProjectId, [finished, other]));

        // Viewers: may look, not change.
        Assert.NotNull(await jobs.GetAsync(s.ViewerId, id));
        Assert.NotNull(await Service<EvaluationService>().GetAsync(s.ViewerId, finished));
        await Assert.ThrowsAsync<ForbiddenException>(() => jobs.LaunchAsync(s.ViewerId, datasetId, Quick()));
        await Assert.ThrowsAsync<ForbiddenException>(() => jobs.CancelAsync(s.ViewerId, id));
        await Assert.ThrowsAsync<ForbiddenException>(() => jobs.RetrainAsync(s.ViewerId, finished));
        await Assert.ThrowsAsync<ForbiddenException>(() => Service<ComparisonService>().EnsembleAsync(s.ViewerId, s.ProjectId, [finished, other]));
        Assert.Equal(JobStatus.Queued, (await JobAsync(id)).Status);
    }

    [Fact]
    public async Task AnEnsembleAveragesItsMembersProbabilitiesAndIsScoredLikeARun()
    {
        var (s, datasetId) = await DatasetAsync();
        // Image A is a bag, image B a sandal. Run 1 is sure about A and wrong (barely) about B; run 2 the reverse.
        var first = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.45f)]);
        var second = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.45f), (1, 0.9f)]);

        var id = await Service<ComparisonService>().EnsembleAsync(s.EditorId, s.ProjectId, [first, second]);

        var ensemble = await JobAsync(id);
        Assert.Equal((JobKind.Ensemble, JobStatus.Completed), (ensemble.Kind, ensemble.Status));
        Assert.Equal($"{first},{second}", ensemble.EnsembleOf);
        Assert.Equal(1.0, ensemble.Accuracy); // averaged: A 0.675 bag, B 0.675 sandal
        var evaluation = RunEvaluation.FromJson(ensemble.EvaluationJson!);
        Assert.Equal(0.675, evaluation.Predictions.Single(p => p.TrueClass == 0).Probabilities[0], 5);
        Assert.Equal([[1, 0], [0, 1]], evaluation.Confusion);
        Assert.Equal(0.5, (await JobAsync(first)).Accuracy);
    }

    [Fact]
    public async Task AComparisonGroupsSeedsOfOneConfigurationAsMeanAndStdAndNoticesDifferentTestSets()
    {
        var (s, datasetId) = await DatasetAsync();
        var a = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.9f)]);   // accuracy 1.0
        var b = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.9f), (1, 0.4f)]);   // accuracy 0.5
        var comparison = Service<ComparisonService>();

        var view = await comparison.CompareAsync(s.ViewerId, s.ProjectId, [a, b]);

        var group = Assert.Single(view.Groups);
        Assert.Equal([a, b], group.RunIds);
        Assert.Equal(0.75, group.TestAccuracy!.Mean, 6);
        Assert.Equal(Math.Sqrt(0.125), group.TestAccuracy.Std!.Value, 6);
        Assert.True(view.SameTestImages);

        var elsewhere = await StoredRuns.CompletedAsync(app, datasetId, seed: 3, [(0, 0.9f)]); // evaluated on one image only
        var mixed = await comparison.CompareAsync(s.ViewerId, s.ProjectId, [a, elsewhere]);
        Assert.False(mixed.SameTestImages);
        Assert.Contains("different test images", mixed.TestSetNote);
        await Assert.ThrowsAsync<RuleViolationException>(() => comparison.EnsembleAsync(s.EditorId, s.ProjectId, [a, elsewhere]));
    }

    [Fact]
    public async Task RunsWithTheSameSettingsOnDifferentDatasetsAreNotSummarisedAsSeedsOfOneConfiguration()
    {
        var (s, datasetId) = await DatasetAsync();
        var other = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Other");
        var here = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.9f)]);
        var there = await StoredRuns.CompletedAsync(app, other, seed: 2, [(0, 0.9f), (1, 0.4f)]);

        var view = await Service<ComparisonService>().CompareAsync(s.ViewerId, s.ProjectId, [here, there]);

        Assert.Equal([[here], [there]], view.Groups.Select(g => g.RunIds).OrderBy(ids => ids[0]));
        Assert.Contains(view.Groups, g => g.Configuration.StartsWith("Other: ", StringComparison.Ordinal));
        Assert.All(view.Groups, g => Assert.Null(g.TestAccuracy!.Std));
        // Different datasets, not a changed test split: the note and the ensemble's refusal say so.
        Assert.Contains("different datasets", view.TestSetNote);
        Assert.DoesNotContain("freeze", view.TestSetNote);
        var refused = await Assert.ThrowsAsync<RuleViolationException>(() => Service<ComparisonService>().EnsembleAsync(s.EditorId, s.ProjectId, [here, there]));
        Assert.Contains("different datasets", refused.Message);
    }
}
