using System.IO.Compression;
using System.Text.Json;
using Grpc.Core;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Autopilot;

[Collection(WorkerCollection.Name)]
public sealed class AutopilotJobTests(WorkerFactory worker)
{
    private static readonly IReadOnlyList<TestImage> Small = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 4);

    private static JobSpec AutoSpec(string jobId, int budget = 0)
    {
        var spec = WorkerClientExtensions.Spec(jobId, Small, classes: 3);
        spec.Mode = JobMode.Auto;
        spec.TimeBudgetSeconds = budget;
        return spec;
    }

    [Fact]
    public async Task AnAutoJobStreamsCandidateScoresAndCompletesWithAModelPredictUsesWithTta()
    {
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(Small)).Rejected);

        var events = await client.StartJob(AutoSpec("auto-1", budget: 600)).ReadAllAsync();

        Assert.Equal(JobEvent.EventOneofCase.Started, events[0].EventCase);
        Assert.Equal(24, events[0].Started.TrainImages);
        Assert.Equal(12, events[0].Started.ValImages);
        Assert.Equal(12, events[0].Started.TestImages);
        var scored = events.Where(e => e.Candidate is not null).Select(e => e.Candidate).ToList();
        Assert.NotEmpty(scored);
        Assert.Contains(scored, s => s.Name == "nearest-class-mean");
        // The LP-FT row (ADR 036) is scored on one held-out fold; every classifier on cached features by cross-validation.
        Assert.All(scored.Where(s => !s.Name.StartsWith("lp-ft:", StringComparison.Ordinal)), s =>
        {
            Assert.InRange(s.CvMean, s.CvCiLow, s.CvCiHigh);
            Assert.Equal("accuracy", s.Metric);
            Assert.Equal(0, s.Rank);
            Assert.True(s.Folds >= 5);
        });
        var completed = events[^1].Completed;
        Assert.NotNull(completed);
        Assert.Equal(Split.Test, completed.EvaluatedSplit);
        Assert.Equal(12, completed.Predictions.Count); // the test images only
        Assert.Equal(Enumerable.Range(1, completed.Leaderboard.Count), completed.Leaderboard.Select(s => s.Rank));
        // The winner is the grid's default unless another beat it beyond cross-validation noise; the reason says which.
        var winnerRow = Assert.Single(completed.Leaderboard, s => s.Name == completed.Winner);
        Assert.True(completed.Winner == Candidate.DefaultGrid(false)[0].Name || completed.WinnerReason.Contains("beats the default"), completed.WinnerReason);
        Assert.Contains(completed.Winner, completed.WinnerReason);
        Assert.Equal(scored.Select(s => s.Name).Distinct().Order(), completed.Leaderboard.Select(s => s.Name).Order());

        using var download = client.DownloadModel(new DownloadModelRequest { ModelId = completed.ModelId });
        var bytes = new MemoryStream();
        await foreach (var chunk in download.ResponseStream.ReadAllAsync()) chunk.Data.WriteTo(bytes);
        using var zip = new ZipArchive(new MemoryStream(bytes.ToArray()));
        using var json = JsonDocument.Parse(zip.GetEntry("model.json")!.Open());
        var root = json.RootElement;
        Assert.Equal("Auto", root.GetProperty("mode").GetString());
        Assert.Equal("hflip", root.GetProperty("testTimeAugmentation").GetString());
        Assert.Equal(completed.Winner, root.GetProperty("autopilot").GetProperty("candidate").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("featurePreprocessing").ValueKind);
        // Candidates on the last two stages' pooled features and on the last stage's alone competed; the model pools
        // what its winner used.
        Assert.Contains(completed.Leaderboard, s => s.Params.Contains("features=last_2_stages"));
        Assert.Contains(completed.Leaderboard, s => s.Params.Contains("features=last_stage"));
        var winner = winnerRow;
        Assert.Equal(winner.Params.Contains("features=last_2_stages") ? 2 : 1, root.GetProperty("pooledStages").GetInt32());

        // Predict (backbone → preprocessing → head on the image and on its flip, mean of probabilities) gives what the
        // evaluation computed from the cached features of both views.
        foreach (var image in Small.Where(i => i.Split == DataSplit.Test).Take(3))
        {
            var prediction = await client.PredictAsync(new PredictRequest { ModelId = completed.ModelId, Image = Google.Protobuf.ByteString.CopyFrom(image.Data), TopK = 3 });
            var evaluated = completed.Predictions.Single(p => p.Sha256 == image.Sha256);
            foreach (var p in prediction.Top) Assert.Equal(evaluated.Probabilities[p.ClassIndex], p.Probability, 4);
            Assert.Equal(evaluated.PredictedClass, prediction.Top[0].ClassIndex);
        }
    }

    [Fact]
    public async Task ATimeBudgetOutsideItsRangeIsRefusedBeforeTheJobStarts()
    {
        var client = worker.Client();
        await client.UploadAsync(Small);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.StartJob(AutoSpec("auto-bad", budget: 4000)).ReadAllAsync());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("timeBudgetSeconds: The autopilot's time budget must be 1 to 3600 seconds; got 4000", error.Status.Detail);
    }
}
