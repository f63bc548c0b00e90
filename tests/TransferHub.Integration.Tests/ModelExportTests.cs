using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Storage;
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
}
