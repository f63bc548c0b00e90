using Google.Protobuf;
using Grpc.Core;
using TransferHub.Worker.Engine.Training;
using TransferHub.Samples.OnnxPredict;
using TransferHub.Worker.Tests.Export;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Grpc;

/// <summary>ExportOnnx end to end: a model trained through StartJob (any mode, auto included), exported through the
/// RPC, classified by the onnx-predict sample, agrees with the worker's own Predict; so does an ensemble's one graph
/// with the mean of its members' Predict.</summary>
[Collection(WorkerCollection.Name)]
public sealed class OnnxExportRpcTests(WorkerFactory worker, ITestOutputHelper output)
{
    private static readonly IReadOnlyList<TestImage> Small = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 4);
    private const float Tolerance = 1e-4f;

    [Theory]
    [InlineData(ResizeMode.Squash, JobMode.FeatureExtraction)]
    [InlineData(ResizeMode.CenterCrop, JobMode.FineTune)]
    [InlineData(ResizeMode.Squash, JobMode.Auto)]
    public async Task TheSampleClassifiesAnExportedModelLikeTheWorkersPredict(ResizeMode resize, JobMode mode)
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var spec = WorkerClientExtensions.Spec($"onnx-{resize}-{mode}", Small, classes: 3);
        spec.ResizeMode = resize;
        spec.Mode = mode;
        spec.Epochs = 2;
        spec.DatasetVersion = "dsv-onnx";
        var events = await client.StartJob(spec).ReadAllAsync();
        var modelId = events[^1].Completed?.ModelId ?? throw new Xunit.Sdk.XunitException(events[^1].Failed?.Message);
        // Calibrated (ADR 022): the temperature is fitted on validation, or for auto on the winner's out-of-fold
        // predictions of train + val, and each of those images' confidence comes back for the "unknown" threshold.
        var calibration = events[^1].Completed.Calibration;
        var heldOut = Small.Count(i => i.Split == DataSplit.Val) + (mode == JobMode.Auto ? Small.Count(i => i.Split == DataSplit.Train) : 0);
        Assert.Equal(mode == JobMode.Auto ? "out-of-fold" : "validation", calibration.FittedOn);
        Assert.Equal(heldOut, calibration.HeldOut.Count);
        Assert.Equal(heldOut, calibration.FittedImages);
        Assert.InRange(calibration.Temperature, 0.05, 20);
        Assert.Equal(15, calibration.After.Bins.Count);
        Assert.Equal(Small.Count(i => i.Split == DataSplit.Test), calibration.After.Count);
        output.WriteLine($"{mode}: T = {calibration.Temperature:F4} ({calibration.Note}), ECE {calibration.Before.Ece:F4} → {calibration.After.Ece:F4}");

        var request = new ExportOnnxRequest { ModelId = modelId };
        request.Metadata.Add("accuracy", "0.75");
        request.Metadata.Add("evaluated_split", "test");
        var (onnx, fileName, announced) = await ExportAsync(client, request);
        Assert.Equal($"{modelId}.onnx", fileName);
        Assert.Equal(announced, onnx.Length);

        using var classifier = new OnnxImageClassifier(onnx);
        Assert.Equal(32, classifier.ImageSize);
        Assert.Equal(resize == ResizeMode.CenterCrop, classifier.CenterCrop);
        Assert.Equal(spec.ClassNames, classifier.ClassNames);

        var images = OnnxPhotos().Concat(Small.Where(i => i.Split == DataSplit.Test).Take(3).Select(i => (i.Name, i.Data))).ToList();
        var maxDelta = 0f;
        foreach (var (name, data) in images)
        {
            var ours = classifier.Classify(data);
            var predicted = await client.PredictAsync(new PredictRequest { ModelId = modelId, Image = ByteString.CopyFrom(data), TopK = 3 });
            Assert.Equal(calibration.Temperature, predicted.Temperature);
            Assert.Equal(predicted.Top[0].ClassName, ours[0].ClassName);
            foreach (var p in predicted.Top)
            {
                var delta = Math.Abs(p.Probability - ours.Single(o => o.ClassIndex == p.ClassIndex).Probability);
                maxDelta = Math.Max(maxDelta, delta);
                Assert.True(delta < Tolerance, $"{name}: {p.ClassName} worker {p.Probability} vs sample {ours.Single(o => o.ClassIndex == p.ClassIndex).Probability}");
            }
            output.WriteLine($"{name}: worker {string.Join(", ", predicted.Top.Select(t => $"{t.ClassName} {t.Probability:F5}"))}");
        }
        output.WriteLine($"{resize} {mode}: {onnx.Length / 1e6:F1} MB, max |Δ probability| sample vs Predict = {maxDelta:E2} over {images.Count} images");
    }

    [Fact]
    public async Task ExportOnnxRefusesUnknownModelsAndReservedMetadataKeys()
    {
        var client = worker.Client();
        var missing = await Assert.ThrowsAsync<RpcException>(() => ExportAsync(client, new ExportOnnxRequest { ModelId = "no-such-model" }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        await client.UploadAsync(Small);
        var events = await client.StartJob(WorkerClientExtensions.Spec("onnx-reserved", Small, classes: 3)).ReadAllAsync();
        var request = new ExportOnnxRequest { ModelId = events[^1].Completed.ModelId };
        request.Metadata.Add("class_names", "[\"forged\"]");
        var reserved = await Assert.ThrowsAsync<RpcException>(() => ExportAsync(client, request));
        Assert.Equal(StatusCode.InvalidArgument, reserved.StatusCode);
        Assert.Contains("'class_names'", reserved.Status.Detail);
    }

    [Fact]
    public async Task AnEnsembleOfAnAutoAndAFeatureExtractionModelExportsAsOneGraphAveragingTheirPredictions()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var memberIds = new List<string>();
        foreach (var mode in new[] { JobMode.Auto, JobMode.FeatureExtraction })
        {
            var spec = WorkerClientExtensions.Spec($"onnx-ensemble-{mode}", Small, classes: 3);
            spec.Mode = mode;
            spec.Epochs = 2;
            var events = await client.StartJob(spec).ReadAllAsync();
            memberIds.Add(events[^1].Completed?.ModelId ?? throw new Xunit.Sdk.XunitException(events[^1].Failed?.Message));
        }

        var request = new ExportOnnxRequest { EnsembleId = "run-9-ensemble" };
        request.MemberModelIds.AddRange(memberIds);
        request.Metadata.Add("run_id", "9");
        var (onnx, fileName, announced) = await ExportAsync(client, request);
        Assert.Equal("run-9-ensemble.onnx", fileName);
        Assert.Equal(announced, onnx.Length);

        using var classifier = new OnnxImageClassifier(onnx);
        using (var session = OnnxTestSupport.Session(onnx))
        {
            var props = session.ModelMetadata.CustomMetadataMap;
            using var members = System.Text.Json.JsonDocument.Parse(props["ensemble_members"]);
            Assert.Equal(memberIds, members.RootElement.EnumerateArray().Select(m => m.GetProperty("model_id").GetString()));
            Assert.Equal("Ensemble", props["mode"]);
            Assert.Equal("9", props["run_id"]);
        }
        var images = OnnxPhotos().Concat(Small.Where(i => i.Split == DataSplit.Test).Take(3).Select(i => (i.Name, i.Data))).ToList();
        var maxDelta = 0f;
        var maxSpread = 0f;
        foreach (var (name, data) in images)
        {
            var ours = classifier.Classify(data);
            var predicted = new List<float[]>();
            foreach (var id in memberIds)
            {
                var top = (await client.PredictAsync(new PredictRequest { ModelId = id, Image = ByteString.CopyFrom(data), TopK = 3 })).Top;
                predicted.Add([.. Enumerable.Range(0, 3).Select(c => top.Single(t => t.ClassIndex == c).Probability)]);
            }
            for (var c = 0; c < 3; c++)
            {
                var mean = predicted.Average(p => p[c]);
                var delta = Math.Abs((float)mean - ours.Single(o => o.ClassIndex == c).Probability);
                maxDelta = Math.Max(maxDelta, delta);
                maxSpread = Math.Max(maxSpread, Math.Abs(predicted[0][c] - predicted[1][c]));
                Assert.True(delta < 1e-5f, $"{name}: class {c} mean of the members' Predict {mean} vs the ensemble's ONNX {ours.Single(o => o.ClassIndex == c).Probability}");
            }
        }
        output.WriteLine($"ensemble of {string.Join(" + ", memberIds)}: {onnx.Length / 1e6:F1} MB, max |Δ probability| ONNX vs mean of the members' Predict = " +
                         $"{maxDelta:E2} over {images.Count} images (members differ by up to {maxSpread:F3})");
    }

    [Fact]
    public async Task AnEnsembleExportNamesEveryMissingMemberAndRefusesMalformedRequests()
    {
        var client = worker.Client();
        var missing = new ExportOnnxRequest();
        missing.MemberModelIds.AddRange(["gone-1", "gone-2"]);
        var notFound = await Assert.ThrowsAsync<RpcException>(() => ExportAsync(client, missing));
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Contains("'gone-1', 'gone-2'", notFound.Status.Detail);

        var both = new ExportOnnxRequest { ModelId = "a" };
        both.MemberModelIds.AddRange(["b", "c"]);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => ExportAsync(client, both))).StatusCode);
        var single = new ExportOnnxRequest();
        single.MemberModelIds.Add("b");
        var one = await Assert.ThrowsAsync<RpcException>(() => ExportAsync(client, single));
        Assert.Equal(StatusCode.InvalidArgument, one.StatusCode);
        Assert.Contains("2 to 16 members", one.Status.Detail);
    }

    private static IEnumerable<(string Name, byte[] Data)> OnnxPhotos() =>
        OnnxTestSupport.PhotoNames.Select(n => (n, File.ReadAllBytes(Path.Combine(OnnxTestSupport.PhotosFolder, n))));

    private static async Task<(byte[] Bytes, string FileName, long Announced)> ExportAsync(WorkerService.WorkerServiceClient client, ExportOnnxRequest request)
    {
        using var call = client.ExportOnnx(request);
        var bytes = new MemoryStream();
        string fileName = "";
        long announced = 0;
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            if (chunk.TotalBytes > 0) (announced, fileName) = (chunk.TotalBytes, chunk.FileName);
            chunk.Data.WriteTo(bytes);
        }
        return (bytes.ToArray(), fileName, announced);
    }
}
