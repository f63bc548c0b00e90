using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TransferHub.Imaging;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Storage;
using TransferHub.Worker.Engine.Transforms;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>issue 12: a finished run's model leaves the platform as ONNX, exported by a worker through the web, with the
/// run's classes and metrics in its metadata, and kept by the web after the first export.</summary>
public sealed class ModelExportTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task ACompletedRunExportsToAnOnnxModelThatOnnxRuntimeRunsWithTheRunsClassesAndMetrics()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var id = Assert.Single(await LaunchAsync(web, user, dataset, QuickRun(epochs: 2)));
        var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
        Assert.True(job.Status == JobStatus.Completed, job.Message);

        byte[] onnx;
        await using (var stream = await web.InScopeAsync(s => s.GetRequiredService<ModelFilesService>().OpenOnnxAsync(user, id)))
        using (var copy = new MemoryStream())
        {
            await stream.CopyToAsync(copy);
            onnx = copy.ToArray();
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, options);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(JsonSerializer.Deserialize<string[]>(job.ClassNamesJson), JsonSerializer.Deserialize<string[]>(metadata["class_names"]));
        Assert.Equal(job.Accuracy!.Value, double.Parse(metadata["accuracy"], System.Globalization.CultureInfo.InvariantCulture), 9);
        Assert.Equal("test", metadata["evaluated_split"]);
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata["run_id"]);

        var input = new DenseTensor<float>(Enumerable.Range(0, 2 * 3 * 64 * 64).Select(i => (float)(i * 37 % 256)).ToArray(), [2, 3, 64, 64]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input)]);
        var probabilities = results.First(r => r.Name == "probabilities").AsTensor<float>();
        Assert.Equal([2, 2], probabilities.Dimensions.ToArray());
        Assert.Equal(1.0, probabilities[0, 0] + probabilities[0, 1], 5);

        // Kept beside the model: the next download needs no worker.
        Assert.True(web.Services.GetRequiredService<ModelStore>().ContainsOnnx(id));
    }
    [Fact]
    public async Task AnEnsembleExportsAsOneOnnxGraphWhoseProbabilitiesAreTheMeanOfItsMembersPredictions()
    {
        var worker = new WorkerSwitch(NewWorker());
        var web = Keep(new WebHost(worker, folder: null));
        var (user, project, dataset) = await TrainableDatasetAsync(web);
        var members = new List<int>();
        foreach (var (seed, learningRate) in new[] { (3L, 0.01), (4L, 0.003) })
        {
            var settings = QuickRun(epochs: 2);
            settings.Seed = seed;
            settings.LearningRate = learningRate;
            members.Add(Assert.Single(await LaunchAsync(web, user, dataset, settings)));
        }
        foreach (var id in members)
        {
            var job = await WaitForAsync(web, id, j => j.IsFinished, "an end state");
            Assert.True(job.Status == JobStatus.Completed, job.Message);
        }
        var ensemble = await web.InScopeAsync(s => s.GetRequiredService<ComparisonService>().EnsembleAsync(user, project, members));

        byte[] onnx;
        await using (var stream = await web.InScopeAsync(s => s.GetRequiredService<ModelFilesService>().OpenOnnxAsync(user, ensemble)))
        using (var copy = new MemoryStream())
        {
            await stream.CopyToAsync(copy);
            onnx = copy.ToArray();
        }
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, options);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(string.Join(",", members), metadata["member_run_ids"]);
        Assert.Equal(ensemble.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata["run_id"]);
        Assert.Equal("Ensemble", metadata["mode"]);
        using (var listed = JsonDocument.Parse(metadata["ensemble_members"]))
            Assert.Equal(2, listed.RootElement.GetArrayLength());
        var classes = JsonSerializer.Deserialize<string[]>(metadata["class_names"])!;

        // The photos as the worker renders them (squash to 64 px), through the graph; each member through the web's Predict.
        var pipeline = new TransformPipeline(64, ResizeMode.Squash, AugmentationOptions.None, Normalization.ImageNet);
        var maxDelta = 0.0;
        var maxEnsembleDelta = 0.0;
        foreach (var photo in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "photos"), "*.jpg"))
        {
            var bytes = await File.ReadAllBytesAsync(photo);
            using var decoded = ImageDecoder.Decode(bytes, "photo");
            var rgb = pipeline.Render(decoded, null);
            var planes = new float[3 * 64 * 64];
            for (var c = 0; c < 3; c++)
                for (var i = 0; i < 64 * 64; i++) planes[c * 64 * 64 + i] = rgb[i * 3 + c];
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", new DenseTensor<float>(planes, [1, 3, 64, 64]))]);
            var probabilities = results.First(r => r.Name == "probabilities").AsTensor<float>().ToArray();
            var predicted = new List<IReadOnlyList<Prediction>>();
            foreach (var id in members)
                predicted.Add((await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().PredictAsync(user, id, bytes, topK: 2))).Top);
            // "Test an image" on the ensemble itself (issue 14 item 7): the web averages its members' Predict the same way.
            var asEnsemble = await web.InScopeAsync(s => s.GetRequiredService<EvaluationService>().PredictAsync(user, ensemble, bytes, topK: 2));
            Assert.Null(asEnsemble.Threshold);
            Assert.Equal(asEnsemble.Top[0].ClassName, asEnsemble.Answer);
            for (var c = 0; c < classes.Length; c++)
            {
                var mean = predicted.Average(p => p.Single(x => x.ClassName == classes[c]).Probability);
                maxDelta = Math.Max(maxDelta, Math.Abs(mean - probabilities[c]));
                maxEnsembleDelta = Math.Max(maxEnsembleDelta, Math.Abs(mean - asEnsemble.Top.Single(x => x.ClassName == classes[c]).Probability));
            }
        }
        Output.WriteLine($"max |Δ probability| the ensemble's Predict vs the mean of its members' = {maxEnsembleDelta:E2}");
        // Separate Predict calls of a frozen-backbone model run ONNX Runtime, whose results vary in about the 7th significant
        // digit from call to call (ADR 031), so the ensemble's own call matches the members' calls to that, not bit for bit.
        Assert.True(maxEnsembleDelta < 1e-6, $"max |Δ probability| of the ensemble's Predict {maxEnsembleDelta}");
        Output.WriteLine($"ensemble #{ensemble} of runs {string.Join(", ", members)}: {onnx.Length / 1e6:F1} MB, max |Δ probability| ONNX vs mean of the members' Predict = {maxDelta:E2}");
        Assert.True(maxDelta < 1e-5, $"max |Δ probability| {maxDelta}");
        Assert.True(web.Services.GetRequiredService<ModelStore>().ContainsOnnx(ensemble));

        // Another machine at the worker's address has neither member: the web sends both, and the export is the same file.
        worker.Current = NewWorker();
        File.Delete(Path.Combine(web.Folder, "storage", "models", $"run-{ensemble}.onnx"));
        await using var again = await web.InScopeAsync(s => s.GetRequiredService<ModelFilesService>().OpenOnnxAsync(user, ensemble));
        using var copyAgain = new MemoryStream();
        await again.CopyToAsync(copyAgain);
        Assert.Equal(onnx, copyAgain.ToArray());
    }
}
