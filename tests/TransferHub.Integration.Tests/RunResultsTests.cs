using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>What a user does with a finished run: drill into the confusion matrix, relabel and retrain, test an image
/// (also after the worker that trained it is gone).</summary>
public sealed class RunResultsTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task ConfusionCellsListTheirImagesAndARelabelThenRetrainRunsOnTheNewLabels()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 2)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);
        var evaluation = RunEvaluation.FromJson(job.EvaluationJson!);

        var cells = new List<CellImage>();
        for (var t = 0; t < 2; t++)
            for (var p = 0; p < 2; p++)
            {
                var (trueClass, predicted) = (t, p);
                cells.AddRange(await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().CellAsync(user, id, trueClass, predicted)));
            }
        Assert.Equal(4, cells.Count); // every test image is in exactly one cell
        Assert.Equal(evaluation.Predictions.Select(p => p.Sha256).Order(), cells.Select(c => c.Sha256).Order());
        Assert.All(cells, c => Assert.EndsWith(".png", c.OriginalName));

        // Relabel one test image from its cell, then retrain with the same settings: the new run records the new data.
        var image = cells[0];
        var view = (await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().GetAsync(user, id)))!;
        var otherClass = view.DatasetClasses.First(c => c.Name != image.TrueClass);
        await web.InScopeAsync(s => s.GetRequiredService<CurationService>().RelabelAsync(user, dataset, [image.ImageId!.Value], otherClass.Id));
        var after = await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().CellAsync(user, id,
            evaluation.ClassNames.ToList().IndexOf(image.TrueClass), evaluation.ClassNames.ToList().IndexOf(image.PredictedClass)));
        Assert.Equal(otherClass.Name, after.Single(c => c.Sha256 == image.Sha256).CurrentLabel);

        var retrained = await web.InScopeAsync(s => s.GetRequiredService<JobService>().RetrainAsync(user, id));
        var second = await WaitForAsync(web, retrained, j => j.IsFinished, "the retrained run's end");
        Assert.True(second.Status == JobStatus.Completed, second.Message);
        Assert.NotEqual(job.DatasetVersion, second.DatasetVersion);
        Assert.Equal(job.Seed, second.Seed);
        var relabelled = RunEvaluation.FromJson(second.EvaluationJson!).Predictions.Single(p => p.Sha256 == image.Sha256);
        Assert.Equal(otherClass.Name, RunEvaluation.FromJson(second.EvaluationJson!).ClassNames[relabelled.TrueClass]);
    }

    [Fact]
    public async Task AnImageIsClassifiedByAFinishedRunEvenAfterItsWorkerIsReplaced()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 3)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);
        var evaluation = RunEvaluation.FromJson(job.EvaluationJson!);
        var tested = evaluation.Predictions[0];
        var bytes = await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(web.Folder, "storage", "images", tested.Sha256[..2]), tested.Sha256)[0]);

        var top = (await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().PredictAsync(user, id, bytes, topK: 2))).Top;
        Assert.Equal(2, top.Count);
        Assert.Equal(evaluation.ClassNames[tested.PredictedClass], top[0].ClassName);
        Assert.Equal(tested.Confidence, top[0].Probability, 4);

        // The worker that trained it is gone; a fresh one has never seen the model: the web sends its stored copy.
        worker.Kill().Dispose();
        worker.Current = NewWorker();
        var again = (await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().PredictAsync(user, id, bytes, topK: 2))).Top;
        Assert.Equal(top.Select(t => t.ClassName), again.Select(t => t.ClassName));
        Assert.Equal(top[0].Probability, again[0].Probability, 4);

        // Refused as an unusable image (a 409 over the API), with the worker's reason apart for Test images' per-file cards.
        var refused = await Assert.ThrowsAsync<TransferHub.Web.Features.UnusableImageException>(() =>
            web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().PredictAsync(user, id, "not an image"u8.ToArray())));
        Assert.Contains("could not be used", refused.Message);
        Assert.StartsWith("this is not an image in a supported format", refused.Why, StringComparison.Ordinal);
    }

    /// <summary>The drill-down's and "test an image"'s heatmaps through a real worker: the web sends the stored image (or the
    /// upload) and the class indices of the run, and the worker's scores are the evaluation's own.</summary>
    [Fact]
    public async Task HeatmapsExplainAnEvaluatedImageAndAnUploadedOneWithTheRunsOwnScores()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 2)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);
        var evaluation = RunEvaluation.FromJson(job.EvaluationJson!);
        var tested = evaluation.Predictions[0];
        var other = 1 - tested.PredictedClass;

        var evaluated = await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().ExplainEvaluatedAsync(user, id, tested.Sha256, other));
        var heatmap = Assert.Single(evaluated.Heatmaps);
        Assert.Equal((other, evaluation.ClassNames[other]), (heatmap.ClassIndex, heatmap.ClassName));
        Assert.Equal(tested.Probabilities[other], heatmap.Probability, 4);
        Assert.Equal(evaluation.ClassNames[tested.PredictedClass], evaluated.PredictedClass);
        Assert.Equal(evaluated.MapHeight * evaluated.MapWidth, heatmap.Map.Count);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], heatmap.Png[..4]);

        var bytes = await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(web.Folder, "storage", "images", tested.Sha256[..2]), tested.Sha256)[0]);
        string[] asked = [evaluation.ClassNames[tested.TrueClass], evaluation.ClassNames[other]];
        var uploaded = await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().ExplainAsync(user, id, bytes, asked.Distinct().ToArray()));
        Assert.Equal(asked.Distinct(), uploaded.Heatmaps.Select(h => h.ClassName));
        Assert.Equal(heatmap.Map, uploaded.Heatmaps.Single(h => h.ClassIndex == other).Map);

        var refused = await Assert.ThrowsAsync<TransferHub.Web.Features.UnusableImageException>(() =>
            web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().ExplainAsync(user, id, "not an image"u8.ToArray(), [])));
        Assert.Contains("could not be used", refused.Message);
    }
}
