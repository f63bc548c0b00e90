using TransferHub.Worker.Engine.Training;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Grpc.Core;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Grpc;

[Collection(WorkerCollection.Name)]
public sealed class JobStreamingTests(WorkerFactory worker, ITestOutputHelper output) : IDisposable
{
    private static readonly IReadOnlyList<TestImage> Small = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 4);
    private readonly IDisposable _log = worker.Log.Attach(output);

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task StartJobStreamsStartedThenOneEpochEventPerEpochThenCompleted()
    {
        var client = worker.Client();
        var upload = await client.UploadAsync(Small);
        Assert.Empty(upload.Rejected);

        var events = await client.StartJob(WorkerClientExtensions.Spec("stream-1", Small, classes: 3)).ReadAllAsync();

        Assert.Equal(JobEvent.EventOneofCase.Started, events[0].EventCase);
        Assert.Equal(24, events[0].Started.TrainImages);
        Assert.Equal(12, events[0].Started.ValImages);
        Assert.Equal(12, events[0].Started.TestImages);
        Assert.Equal([1, 2, 3], events.Where(e => e.Epoch is not null).Select(e => e.Epoch.Epoch));
        Assert.All(events.Where(e => e.Epoch is not null), e => Assert.InRange(e.Epoch.ValAccuracy, 0f, 1f));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        // Feature extraction says how it got its features, once, before the first epoch (the head's epochs follow).
        var features = Assert.Single(events, e => e.Features is not null);
        Assert.True(events.IndexOf(features) < events.FindIndex(e => e.Epoch is not null));
        Assert.Equal(48, features.Features.Images);
        Assert.Equal(48, features.Features.CachedImages + features.Features.ComputedImages);
        Assert.True(features.Features.Seconds >= 0);

        var completed = Assert.Single(events, e => e.Completed is not null).Completed;
        Assert.Same(completed, events[^1].Completed);
        Assert.Equal(Split.Test, completed.EvaluatedSplit);
        Assert.Equal(12, completed.Predictions.Count);
        Assert.Equal(3, completed.PerClass.Count);
        Assert.All(completed.PerClass, c => Assert.Equal(4, c.Support));
        Assert.Equal(3, completed.ConfusionMatrix.Count);
        Assert.Equal(12, completed.ConfusionMatrix.Sum(r => r.Counts.Sum()));
        var correct = Enumerable.Range(0, 3).Sum(i => completed.ConfusionMatrix[i].Counts[i]);
        Assert.Equal(correct / 12f, completed.Accuracy, 5);
        Assert.InRange(completed.BestEpoch, 1, 3);
        Assert.False(string.IsNullOrEmpty(completed.ModelId));
    }

    [Fact]
    public async Task CompletedModelCanBeDownloadedAndPredictsAnImage()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var events = await client.StartJob(WorkerClientExtensions.Spec("predict-1", Small, classes: 3)).ReadAllAsync();
        var modelId = events[^1].Completed.ModelId;

        using var download = client.DownloadModel(new DownloadModelRequest { ModelId = modelId });
        var bytes = new MemoryStream();
        long announced = 0;
        await foreach (var chunk in download.ResponseStream.ReadAllAsync())
        {
            if (chunk.TotalBytes > 0) announced = chunk.TotalBytes;
            chunk.Data.WriteTo(bytes);
        }
        Assert.Equal(announced, bytes.Length);
        using var zip = new ZipArchive(new MemoryStream(bytes.ToArray()));
        using var json = JsonDocument.Parse(zip.GetEntry("model.json")!.Open());
        Assert.Equal(["tshirt", "trouser", "pullover"], json.RootElement.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("resnet18x3-imagenet", json.RootElement.GetProperty("backbone").GetString());
        Assert.NotNull(zip.GetEntry("weights.safetensors"));

        var trouser = Small.First(i => i.ClassIndex == 1 && i.Split == DataSplit.Test);
        var prediction = await client.PredictAsync(new PredictRequest { ModelId = modelId, Image = Google.Protobuf.ByteString.CopyFrom(trouser.Data), TopK = 2 });
        Assert.Equal(2, prediction.Top.Count);
        Assert.True(prediction.Top[0].Probability >= prediction.Top[1].Probability);
        Assert.Contains(prediction.Top[0].ClassName, new[] { "tshirt", "trouser", "pullover" });
        // The prediction is the same computation as the evaluation of that test image.
        var evaluated = events[^1].Completed.Predictions.Single(p => p.Sha256 == trouser.Sha256);
        Assert.Equal(evaluated.PredictedClass, prediction.Top[0].ClassIndex);
        Assert.Equal(evaluated.Confidence, prediction.Top[0].Probability, 4);
    }

    [Fact]
    public async Task AnUploadedModelPredictsLikeTheOriginalAndAFileThatIsNoModelIsRefused()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var events = await client.StartJob(WorkerClientExtensions.Spec("upload-model-1", Small, classes: 3)).ReadAllAsync();
        var modelId = events[^1].Completed.ModelId;
        var artifact = new MemoryStream();
        using (var download = client.DownloadModel(new DownloadModelRequest { ModelId = modelId }))
            await foreach (var chunk in download.ResponseStream.ReadAllAsync()) chunk.Data.WriteTo(artifact);

        // As if another worker trained it: the web sends the stored artifact under the run's model id.
        using (var upload = client.UploadModel())
        {
            var bytes = artifact.ToArray();
            for (var offset = 0; offset < bytes.Length; offset += 100_000)
                await upload.RequestStream.WriteAsync(new UploadModelRequest
                {
                    ModelId = offset == 0 ? "copied-model" : "",
                    Data = Google.Protobuf.ByteString.CopyFrom(bytes, offset, Math.Min(100_000, bytes.Length - offset)),
                });
            await upload.RequestStream.CompleteAsync();
            var stored = await upload;
            Assert.Equal(("copied-model", (long)bytes.Length), (stored.ModelId, stored.Bytes));
        }
        var image = Google.Protobuf.ByteString.CopyFrom(Small.First(i => i.Split == DataSplit.Test).Data);
        var original = await client.PredictAsync(new PredictRequest { ModelId = modelId, Image = image, TopK = 3 });
        var copy = await client.PredictAsync(new PredictRequest { ModelId = "copied-model", Image = image, TopK = 3 });
        // The same answer; a frozen model's backbone runs on ONNX Runtime, whose threads may sum in another order from one
        // call to the next (last digits).
        Assert.Equal(original.Top.Select(t => t.ClassIndex), copy.Top.Select(t => t.ClassIndex));
        Assert.Equal(original.Top.Select(t => t.Probability), copy.Top.Select(t => t.Probability), (a, b) => Math.Abs(a - b) < 1e-6f);

        using var garbage = client.UploadModel();
        await garbage.RequestStream.WriteAsync(new UploadModelRequest { ModelId = "garbage", Data = Google.Protobuf.ByteString.CopyFromUtf8("not a zip") });
        await garbage.RequestStream.CompleteAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await garbage);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("Not a TransferHub model file", refused.Status.Detail);
        await Assert.ThrowsAsync<RpcException>(async () => await client.PredictAsync(new PredictRequest { ModelId = "garbage", Image = image }));
    }

    [Fact]
    public async Task CancelMidJobEndsTheStreamWithinSeconds()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var spec = WorkerClientExtensions.Spec("cancel-1", Small, classes: 3);
        spec.Mode = JobMode.FineTune;
        spec.Epochs = 500;
        spec.BatchSize = 4;
        using var call = client.StartJob(spec);
        var stream = call.ResponseStream;
        while (await stream.MoveNext() && stream.Current.Epoch is null) { }
        Assert.Equal(1, stream.Current.Epoch!.Epoch);

        var clock = Stopwatch.StartNew();
        Assert.True((await client.CancelJobAsync(new CancelJobRequest { JobId = "cancel-1" })).Cancelled);
        JobEvent last = stream.Current;
        while (await stream.MoveNext()) last = stream.Current;
        clock.Stop();

        Assert.Equal(FailureCode.Cancelled, last.Failed?.Code);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cancel took {clock.Elapsed}");
        var status = await client.GetJobStatusAsync(new GetJobStatusRequest { JobId = "cancel-1" });
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.False((await client.CancelJobAsync(new CancelJobRequest { JobId = "cancel-1" })).Cancelled);
    }

    [Fact]
    public async Task WatchJobReplaysPastEpochsThenFollowsLive()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var spec = WorkerClientExtensions.Spec("watch-1", Small, classes: 3);
        spec.Mode = JobMode.FineTune;
        spec.Epochs = 500; // far more than the test waits for: the job is still running whenever the watch looks
        spec.BatchSize = 4;
        using var start = new CancellationTokenSource();
        using (var call = client.StartJob(spec, cancellationToken: start.Token))
        {
            // A web app that goes away after epoch 2: the stream ends on the client, the job goes on.
            while (await call.ResponseStream.MoveNext() && call.ResponseStream.Current.Epoch?.Epoch != 2) { }
            start.Cancel();
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var watch = client.WatchJob(new WatchJobRequest { JobId = "watch-1", AfterEpoch = 1 }, cancellationToken: deadline.Token);
        var resumed = new List<JobEvent>();
        Assert.True(await watch.ResponseStream.MoveNext(deadline.Token));
        resumed.Add(watch.ResponseStream.Current);
        // The watch is streaming now: an epoch the worker had not finished at this point can only arrive live.
        var doneWhenWatching = (await client.GetJobStatusAsync(new GetJobStatusRequest { JobId = "watch-1" })).EpochsDone;
        while (!(resumed[^1].Epoch?.Epoch > doneWhenWatching) && await watch.ResponseStream.MoveNext(deadline.Token))
            resumed.Add(watch.ResponseStream.Current);
        Assert.True(resumed[^1].Epoch?.Epoch > doneWhenWatching,
            $"the watch ended after replaying up to epoch {doneWhenWatching} without following the job live");

        // So does the end of the job, which happens only now.
        Assert.True((await client.CancelJobAsync(new CancelJobRequest { JobId = "watch-1" })).Cancelled);
        while (await watch.ResponseStream.MoveNext(deadline.Token)) resumed.Add(watch.ResponseStream.Current);
        Assert.Equal(FailureCode.Cancelled, resumed[^1].Failed?.Code);

        var epochs = resumed.Where(e => e.Epoch is not null).Select(e => e.Epoch.Epoch).ToList();
        Assert.Equal(Enumerable.Range(2, epochs.Count), epochs);
        Assert.DoesNotContain(resumed, e => e.Started is not null);

        var replay = await client.WatchJob(new WatchJobRequest { JobId = "watch-1" }).ReadAllAsync();
        Assert.Equal(JobEvent.EventOneofCase.Started, replay[0].EventCase);
        Assert.Equal(Enumerable.Range(1, epochs[^1]), replay.Where(e => e.Epoch is not null).Select(e => e.Epoch.Epoch));
        Assert.Equal(resumed[^1], replay[^1]);
    }

    [Fact]
    public async Task SameSeedGivesTheSameMetricsOnCpu()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        async Task<List<JobEvent>> Run(string id)
        {
            var spec = WorkerClientExtensions.Spec(id, Small, classes: 3);
            spec.Mode = JobMode.FineTune;
            spec.UnfreezeStages = 1;
            spec.Epochs = 2;
            spec.BatchSize = 8;
            spec.Augmentation = new AugmentationSettings { HorizontalFlip = true, CropScaleMin = 0.6f, CropScaleMax = 1f, Brightness = 0.2f };
            spec.Head = new HeadSpec { HiddenUnits = 16, Dropout = 0.3f };
            var events = await client.StartJob(spec).ReadAllAsync();
            // Two runs that fail alike (e.g. both NaN, or both with no epoch at all) prove nothing about the seed.
            var end = events.LastOrDefault();
            Assert.True(end?.Completed is not null, $"{id} did not complete: {end?.Failed?.ToString() ?? "no event"}");
            return events;
        }

        var first = Metrics(await Run("seed-a"));
        var second = Metrics(await Run("seed-b"));
        Assert.Equal(2, first.Count);
        Assert.All(first, m => Assert.True(float.IsFinite(m.TrainLoss) && float.IsFinite(m.ValLoss), $"epoch {m.Epoch}: {m}"));
        Assert.Equal(first.Select(e => (e.TrainLoss, e.ValLoss, e.ValAccuracy)), second.Select(e => (e.TrainLoss, e.ValLoss, e.ValAccuracy)));

        static List<EpochMetrics> Metrics(List<JobEvent> events) => events.Where(e => e.Epoch is not null).Select(e => e.Epoch).ToList();
    }

    [Fact]
    public async Task EarlyStoppingEndsTheJobAndKeepsTheBestEpoch()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var spec = WorkerClientExtensions.Spec("early-1", Small, classes: 3);
        spec.Epochs = 60;
        spec.LearningRate = 0.05f;
        spec.EarlyStoppingPatience = 2;
        var events = await client.StartJob(spec).ReadAllAsync();

        var epochs = events.Where(e => e.Epoch is not null).Select(e => e.Epoch).ToList();
        var completed = events[^1].Completed;
        Assert.True(completed.StoppedEarly);
        Assert.True(epochs.Count < 60);
        Assert.Equal(epochs.Count - 2, completed.BestEpoch);
        Assert.Equal(epochs.Where(e => e.IsBest).Max(e => e.Epoch), completed.BestEpoch);
        Assert.Contains(events, e => e.Log?.Message.Contains("Early stopping") == true);
    }
}
