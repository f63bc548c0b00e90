using TorchSharp;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Backbones;
using TransferHub.Worker.Tests.Infrastructure;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Autopilot;

/// <summary>Auto mode's optional LP-FT stage (ADR 036) on the pretrained ResNet and a small real image set at 32 px.</summary>
[Collection(BackbonesCollection.Name)]
public sealed class LpFtTests(PretrainedResNetFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _data = TempFolder.Create();
    private static readonly IReadOnlyList<TestImage> Small = TestImages.Fashion(classes: 3, train: 8, val: 4, test: 4);

    public void Dispose() => _data.Dispose();

    private sealed class Recorder : ITrainingObserver
    {
        public List<string> Logs { get; } = [];
        public List<CandidateScore> Scored { get; } = [];
        public void Started(TrainingStarted started) { }
        public void Epoch(EpochResult epoch) { }
        public void Log(string level, string message) => Logs.Add(message);
        void ITrainingObserver.Candidate(CandidateScore score) => Scored.Add(score);
    }

    private (TrainingOutcome Outcome, Recorder Observer) Run(LpFtOptions lpFt, int budget)
    {
        var images = new ImageStore(Path.Combine(_data.Path, "images"), 64_000_000);
        foreach (var image in Small) images.Add(image.Sha256, image.Name, image.Data);
        var spec = new TrainingSpec
        {
            JobId = "lp-ft",
            Items = [.. Small.Select(i => new DatasetEntry(i.Sha256, i.ClassIndex, i.Split))],
            ClassNames = [.. TestImages.FashionClasses.Take(3)],
            Backbone = BackboneRegistry.PretrainedName,
            Mode = TrainingMode.Auto,
            BatchSize = 16,
            ImageSize = 32,
            Seed = 7,
            TimeBudgetSeconds = budget,
            LpFt = lpFt,
        };
        var observer = new Recorder();
        var outcome = new AutopilotTrainer(fixture.Registry, images, new FeatureCache(Path.Combine(_data.Path, "features")), torch.CPU)
            .Run(spec, observer, CancellationToken.None);
        return (outcome, observer);
    }

    [Fact]
    public void LpFtIsSkippedWithItsEstimateWhenTheBudgetCannotFitIt()
    {
        // 100,000 epochs cannot fit in 600 s: the estimate (measured step time × rows) says so before anything trains.
        var (outcome, observer) = Run(new LpFtOptions { Epochs = 100_000 }, budget: 600);
        using var model = outcome.Model;

        var auto = outcome.Autopilot!;
        Assert.Null(auto.LpFt);
        Assert.False(outcome.BackboneTuned);
        var skipped = Assert.Single(auto.Selection.Skipped, s => s.Name.StartsWith(LinearProbeFineTune.NamePrefix, StringComparison.Ordinal));
        Assert.Equal(LinearProbeFineTune.NamePrefix + auto.Selection.Winner.Name, skipped.Name);
        Assert.Matches(@"^LP-FT \(fine-tuning the backbone's last stage from this head\) not run: estimated \d+ s \(\d+ s for the last stage's inputs, \d+ s to train 100000 epochs; [\d.]+ ms per training row measured\), \d+ s of the 600 s budget left", skipped.Reason);
        Assert.DoesNotContain(auto.Selection.Leaderboard, s => s.Name.StartsWith(LinearProbeFineTune.NamePrefix, StringComparison.Ordinal));
        Assert.Contains(observer.Logs, l => l.StartsWith("Autopilot: skipped LP-FT: estimated", StringComparison.Ordinal));
    }

    [Fact]
    public void LpFtThatIsOffIsReportedAsSkippedAndLeavesThePretrainedStage()
    {
        var (outcome, _) = Run(new LpFtOptions { Policy = LpFtPolicy.Off }, budget: 600);
        using var model = outcome.Model;
        Assert.Equal("LP-FT is off for this job", Assert.Single(outcome.Autopilot!.Selection.Skipped).Reason);
        Assert.False(outcome.BackboneTuned);
    }

    [Fact]
    public void AForcedLpFtThatLosesToTheProbeOnTheHeldOutFoldIsNotKept()
    {
        // A head learning rate of 5 wrecks the probe's head within a few Adam steps: LP-FT must lose on the held-out fold.
        var (outcome, observer) = Run(new LpFtOptions { Policy = LpFtPolicy.Always, Epochs = 2, HeadLearningRate = 5 }, budget: 1);
        using var model = outcome.Model;
        using var pretrained = fixture.Registry.Create(BackboneRegistry.PretrainedName);

        var lpFt = outcome.Autopilot!.LpFt!;
        output.WriteLine(lpFt.Reason);
        Assert.False(lpFt.Kept);
        Assert.True(lpFt.TunedScore < lpFt.ProbeScore, $"LP-FT {lpFt.TunedScore} vs probe {lpFt.ProbeScore}");
        // Fold 1 of the selection's 5 stratified folds of the 36 train + val images; never a test image.
        Assert.Equal(lpFt.HeldOutImages, lpFt.HeldOut.Count);
        Assert.InRange(lpFt.HeldOut.Count, 6, 9);
        Assert.False(outcome.BackboneTuned);
        // The leaderboard ends with the LP-FT row; the winner is the probe; the held-out run's stage changes were undone.
        var board = outcome.Autopilot.Selection.Leaderboard;
        Assert.Equal(LinearProbeFineTune.NamePrefix + outcome.Autopilot.Selection.Winner.Name, board[^1].Name);
        Assert.Equal(board.Count, board[^1].Rank);
        Assert.Equal(outcome.Autopilot.Selection.Winner.Name, outcome.Autopilot.Choice.Candidate);
        Assert.Contains("not kept (it must beat the probe)", outcome.Autopilot.Selection.Reason);
        Assert.Equal(0, MaxStageDifference(model.Backbone, pretrained));
        Assert.Contains(observer.Logs, l => l.StartsWith("Autopilot: LP-FT (the last stage", StringComparison.Ordinal));
    }

    [Fact]
    public void AForcedLpFtIsKeptOnlyWhenItBeatsTheProbeAndThenTheModelUsesTheTrainedStage()
    {
        // A head learning rate that changes the model: whatever the held-out comparison says decides, and the model follows.
        var (outcome, _) = Run(new LpFtOptions { Policy = LpFtPolicy.Always, Epochs = 4, HeadLearningRate = 1e-2, StageLrMultiplier = 0.1 }, budget: 1);
        using var model = outcome.Model;
        using var pretrained = fixture.Registry.Create(BackboneRegistry.PretrainedName);
        var lpFt = outcome.Autopilot!.LpFt!;
        output.WriteLine(lpFt.Reason);

        // On these images and seed LP-FT wins the held-out fold (deterministic on a CPU); the rule is strict improvement.
        Assert.True(lpFt.Kept, lpFt.Reason);
        Assert.Equal(lpFt.TunedScore > lpFt.ProbeScore, lpFt.Kept);
        Assert.Equal(lpFt.Kept, outcome.BackboneTuned);
        var difference = MaxStageDifference(model.Backbone, pretrained);
        output.WriteLine($"kept {lpFt.Kept}; max |Δ| of the last stage's parameters vs pretrained {difference:E2}");
        if (lpFt.Kept)
        {
            Assert.True(difference > 1e-4, "a kept LP-FT must leave its trained last stage in the model");
            Assert.StartsWith(LinearProbeFineTune.NamePrefix, outcome.Autopilot.Choice.Candidate);
            Assert.Equal(1, outcome.Autopilot.Selection.Leaderboard[0].Rank);
            // The job's winner (on the wire, in the web) is the LP-FT row, named in the reason.
            Assert.Equal(outcome.Autopilot.Selection.Leaderboard[0].Name, outcome.Autopilot.Selection.WinnerName);
            Assert.Contains($"kept as {outcome.Autopilot.Selection.WinnerName}", outcome.Autopilot.Selection.Reason);
        }
        else Assert.Equal(0, difference);

        // The report (computed from the cached stage inputs) is what the stored model gives for the test images.
        var pipeline = new TransformPipeline(32, ResizeMode.Squash, AugmentationOptions.None, model.Backbone.Descriptor.Normalization);
        var test = Small.Where(i => i.Split == DataSplit.Test).ToList();
        var rgb = test.Select(i => { using var d = TransferHub.Imaging.ImageDecoder.Decode(i.Data, i.Name); return pipeline.Render(d, null); }).ToList();
        var (probabilities, _) = Export.OnnxTestSupport.Torch(model, pipeline, rgb);
        var report = outcome.Report.Predictions;
        for (var i = 0; i < test.Count; i++)
        {
            var expected = report.Single(r => r.Sha256 == test[i].Sha256).Probabilities;
            for (var k = 0; k < 3; k++) Assert.Equal(expected[k], probabilities[i * 3 + k], 4);
        }
    }

    private static double MaxStageDifference(Backbone a, Backbone b)
    {
        var left = a.Stages[^1].parameters().ToList();
        var right = b.Stages[^1].parameters().ToList();
        return left.Zip(right).Max(p =>
        {
            using var d = (p.First - p.Second).abs().max();
            return d.ToDouble();
        });
    }
}
