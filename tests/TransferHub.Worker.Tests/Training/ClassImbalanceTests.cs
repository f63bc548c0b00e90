using TorchSharp;
using TransferHub.Contracts.Jobs;
using TransferHub.Worker.Engine.Training;

namespace TransferHub.Worker.Tests.Training;

/// <summary>The manual modes' answers to imbalanced classes: the trainer's class-weighted loss, checked against
/// cross-entropy worked out by hand, and class-balanced sampling's class frequencies and determinism.</summary>
public sealed class ClassImbalanceTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    /// <summary>Train images per class: 4, 2 and 1.</summary>
    private static List<DatasetEntry> Train(params int[] counts) =>
        [.. counts.SelectMany((n, c) => Enumerable.Range(0, n).Select(i => new DatasetEntry($"{c}-{i}", c, DataSplit.Train)))];

    private static TrainingSpec Spec(ClassWeightingKind weighting, double beta = JobDefaults.ClassWeightBeta) => new()
    {
        JobId = "weights", Items = Train(4, 2, 1), ClassNames = Classes, Backbone = "b", ClassWeighting = weighting, ClassWeightBeta = beta,
    };

    // Four images' logits and labels: one each of b and c classified right, a once right and once wrong.
    private static readonly double[][] Logits = [[2, 0, -1], [0.5, 1.5, 0], [0, 0, 3], [0, 2, 0]];
    private static readonly int[] Labels = [0, 1, 2, 0];

    /// <summary>Cross-entropy of one image by its definition: log Σ_k exp(x_k) − x_y.</summary>
    private static double CrossEntropy(double[] x, int y) => Math.Log(x.Sum(Math.Exp)) - x[y];

    /// <summary>Σᵢ w_{yᵢ}·CEᵢ / Σᵢ w_{yᵢ}.</summary>
    private static double WeightedMean(double[] classWeights) =>
        Logits.Select((x, i) => classWeights[Labels[i]] * CrossEntropy(x, Labels[i])).Sum() / Labels.Sum(y => classWeights[y]);

    private static double TrainersLoss(TrainingSpec spec)
    {
        using var loss = new TrainingLoss(spec, spec.Items, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(Logits.SelectMany(r => r.Select(v => (float)v)).ToArray(), [Logits.Length, Classes.Length]);
        var labels = torch.tensor(Labels.Select(l => (long)l).ToArray());
        return loss.Compute(logits, labels).item<float>();
    }

    [Fact]
    public void InverseFrequencyWeightsChangeTheTrainersLossAsSpecified()
    {
        // n = 7 train images, K = 3 classes: w = 7/(3·4), 7/(3·2), 7/(3·1).
        double[] weights = [7 / 12.0, 7 / 6.0, 7 / 3.0];
        var expected = WeightedMean(weights);

        var actual = TrainersLoss(Spec(ClassWeightingKind.InverseFrequency));

        Assert.Equal(expected, actual, 5);
        // Not the plain mean (0.742): the rare classes' right answers count more than a's wrong one.
        var plain = Logits.Select((x, i) => CrossEntropy(x, Labels[i])).Average();
        Assert.InRange(expected, 0.46, 0.47);
        Assert.InRange(plain, 0.74, 0.75);
    }

    [Fact]
    public void EffectiveNumberWeightsChangeTheTrainersLossAsSpecified()
    {
        // β = 0.9: (1 − β)/(1 − β^n) for n = 4, 2, 1 is 0.290782, 0.526316, 1, scaled to average 1 (× 3 / 1.817098).
        double[] weights = [0.480077, 0.868939, 1.650984];

        Assert.Equal(WeightedMean(weights), TrainersLoss(Spec(ClassWeightingKind.EffectiveNumber, beta: 0.9)), 5);
    }

    [Fact]
    public void WithoutWeightingTheLossIsThePlainMeanCrossEntropy()
    {
        var plain = Logits.Select((x, i) => CrossEntropy(x, Labels[i])).Average();

        Assert.Equal(plain, TrainersLoss(Spec(ClassWeightingKind.None)), 5);
        using var loss = new TrainingLoss(Spec(ClassWeightingKind.None), Train(4, 2, 1), torch.CPU);
        Assert.Null(loss.Weights);
    }

    [Fact]
    public void TheWeightsComeFromTheTrainingSplitOnly()
    {
        var items = Train(4, 2, 1).Concat([new DatasetEntry("v", 2, DataSplit.Val), new DatasetEntry("t", 2, DataSplit.Test)]).ToList();
        var spec = Spec(ClassWeightingKind.InverseFrequency) with { Items = items };

        using var loss = new TrainingLoss(spec, [.. items.Where(i => i.Split == DataSplit.Train)], torch.CPU);

        Assert.Equal([7 / 12.0, 7 / 6.0, 7 / 3.0], loss.Weights!, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void BalancedSamplingDrawsEveryClassEquallyOftenWithTheSameEpochLength()
    {
        var train = Train(60, 20, 5);
        var drawn = new int[3];
        const int epochs = 40;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var order = ClassBalancedSampler.Order(train, seed: 11, epoch);
            Assert.Equal(train.Count, order.Length);
            foreach (var i in order) drawn[train[i].ClassIndex]++;
        }

        // 3,400 draws, a third expected per class (binomial sd ≈ 27.5 draws, 0.8 %): within 3 points of 33.3 %.
        Assert.All(drawn, n => Assert.InRange(n / (double)(epochs * train.Count), 0.303, 0.363));
        // Unbalanced, the smallest class would have been 5.9 % of the draws; every one of its images is drawn.
        var rare = Enumerable.Range(0, epochs).SelectMany(e => ClassBalancedSampler.Order(train, 11, e)).Where(i => train[i].ClassIndex == 2).Distinct();
        Assert.Equal(5, rare.Count());
    }

    [Fact]
    public void BalancedSamplingIsDeterministicPerSeedAndEpoch()
    {
        var train = Train(60, 20, 5);

        Assert.Equal(ClassBalancedSampler.Order(train, 3, 0), ClassBalancedSampler.Order(train, 3, 0));
        Assert.NotEqual(ClassBalancedSampler.Order(train, 3, 0), ClassBalancedSampler.Order(train, 4, 0));
        Assert.NotEqual(ClassBalancedSampler.Order(train, 3, 0), ClassBalancedSampler.Order(train, 3, 1));
    }

    [Fact]
    public void WithoutBalancedSamplingAnEpochIsEachImageOnceInTheSeededShuffle()
    {
        var train = Train(60, 20, 5);
        var spec = Spec(ClassWeightingKind.None) with { Items = train, Seed = 3 };

        var order = ClassBalancedSampler.EpochOrder(spec, train, 2);

        Assert.Equal(Enumerable.Range(0, train.Count), order.Order());
        Assert.Equal(ClassBalancedSampler.Order(train, 3, 2), ClassBalancedSampler.EpochOrder(spec with { BalancedSampling = true }, train, 2));
    }
}
