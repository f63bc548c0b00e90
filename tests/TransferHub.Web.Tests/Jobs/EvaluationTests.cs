using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Worker.V1;
using TransferHub.Contracts.Metrics;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The metrics computed in the web (ensembles) and the launch form's checks.</summary>
public sealed class EvaluationTests
{
    [Fact]
    public void ComputedMetricsMatchAHandWorkedConfusionMatrix()
    {
        // 3 cats (2 right, 1 called dog), 2 dogs (both right), 1 bird (called cat).
        static float[] P(int c) => [.. Enumerable.Range(0, 3).Select(i => i == c ? 0.8f : 0.1f)];
        var images = new (string, int, float[])[]
        {
            ("a", 0, P(0)), ("b", 0, P(0)), ("c", 0, P(1)), ("d", 1, P(1)), ("e", 1, P(1)), ("f", 2, P(0)),
        };

        var e = RunEvaluation.Compute("test", ["cat", "dog", "bird"], images);

        Assert.Equal([[2, 1, 0], [0, 2, 0], [1, 0, 0]], e.Confusion);
        Assert.Equal(4 / 6.0, e.Accuracy, 6);
        var cat = e.PerClass[0];
        Assert.Equal((2 / 3.0, 2 / 3.0, 3), (cat.Precision, cat.Recall, cat.Support));
        var dog = e.PerClass[1];
        Assert.Equal((2 / 3.0, 1.0), (dog.Precision, dog.Recall));
        Assert.Equal(0.8, dog.F1, 6);
        var bird = e.PerClass[2];
        Assert.Equal((0.0, 0.0, 0.0, 1), (bird.Precision, bird.Recall, bird.F1, bird.Support)); // never predicted: 0, not NaN
        Assert.Equal((2 / 3.0 + 0.8 + 0) / 3, e.Macro.F1, 6);
        Assert.Equal((2 / 3.0 * 3 + 0.8 * 2) / 6, e.Weighted.F1, 6);
        Assert.Equal(-(4 * Math.Log(0.8) + 2 * Math.Log(0.1)) / 6, e.Loss, 5);
        Assert.Equal(e.Accuracy, RunEvaluation.FromJson(e.ToJson()).Accuracy);
    }

    [Fact]
    public void AnEnsembleIsScoredWithTheWorkersConventionsLikeScikitLearn()
    {
        // class-without-train-images.zip, classes [cyan, down, red, up]: red ×3 right, up ×3 called down. scikit-learn
        // with labels = all four classes gives macro F1 0.25 (bench/reference/classification_metrics_reference.py), as
        // the worker now does too (it used to say 0.5).
        static float[] P(int c) => [.. Enumerable.Range(0, 4).Select(i => i == c ? 0.7f : 0.1f)];
        var images = new (string, int, float[])[]
        {
            ("r1", 2, P(2)), ("r2", 2, P(2)), ("r3", 2, P(2)), ("u1", 3, P(1)), ("u2", 3, P(1)), ("u3", 3, P(1)),
        };

        var e = RunEvaluation.Compute("test", ["cyan", "down", "red", "up"], images);
        var shared = ClassificationMetrics.ForRun([2, 2, 2, 3, 3, 3], [2, 2, 2, 1, 1, 1], 4);

        Assert.Equal(0.25, e.Macro.F1, 12);
        Assert.Equal((0.25, 0.25, 6), (e.Macro.Precision, e.Macro.Recall, e.Macro.Support));
        Assert.Equal(0.5, e.Weighted.F1, 12);
        Assert.Equal(shared.PerClass.Select(r => (r.Precision, r.Recall, r.F1, r.Support)),
            e.PerClass.Select(s => (s.Precision, s.Recall, s.F1, s.Support)));
        Assert.Equal(["cyan", "down", "red", "up"], e.PerClass.Select(s => s.ClassName));
    }

    [Fact]
    public void SpreadIsMeanAndSampleStandardDeviation()
    {
        var spread = Spread.Of([0.8, 0.9, null, 1.0])!;
        Assert.Equal((0.9, 3), (Math.Round(spread.Mean, 6), spread.Count));
        Assert.Equal(0.1, spread.Std!.Value, 6);
        Assert.Null(Spread.Of([0.7])!.Std);
        Assert.Null(Spread.Of([null]));
    }

    [Fact]
    public void EachModeHasItsOwnDefaultsAndContradictionsAreExplained()
    {
        var fe = JobSettings.ForMode(TrainingMode.FeatureExtraction, "resnet18x3-imagenet");
        var ft = JobSettings.ForMode(TrainingMode.FineTune, "resnet18x3-imagenet");
        Assert.Empty(fe.Problems(4));
        Assert.Empty(ft.Problems(4));
        Assert.True(fe.LearningRate > ft.LearningRate);
        Assert.True(fe.Epochs > ft.Epochs);
        Assert.False(fe.Augment);
        Assert.True(ft.Augment);
        static JobSpec Spec(JobSettings settings) => JobSpec.Parser.ParseFrom(
            RunSpec.Encode(new TrainingRequest(settings, 1, ["a", "b"], [], "v")));
        Assert.Null(Spec(fe).Augmentation);
        Assert.NotNull(Spec(ft).Augmentation);

        ft.UnfreezeStages = 5;
        ft.EarlyStoppingPatience = 20;
        ft.LearningRate = 0;
        var problems = ft.Problems(backboneStages: 4);
        Assert.Contains(problems, p => p.Field == "unfreezeStages" && p.Message.Contains("has 4 stages"));
        Assert.Contains(problems, p => p.Field == "earlyStoppingPatience" && p.Message.Contains("patience must be smaller"));
        Assert.Contains(problems, p => p.Field == "learningRate" && p.Message.Contains("Learning rate"));
        Assert.Contains(new JobSettings().Problems(), p => p.Message == "Choose a backbone.");
    }
}
