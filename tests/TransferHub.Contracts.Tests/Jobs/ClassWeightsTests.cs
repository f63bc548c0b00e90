using TransferHub.Contracts.Jobs;

namespace TransferHub.Contracts.Tests.Jobs;

/// <summary>The class weights of the training loss, against values worked out by hand from their definitions.</summary>
public sealed class ClassWeightsTests
{
    [Fact]
    public void InverseFrequencyIsScikitLearnsBalancedWeighting()
    {
        // compute_class_weight("balanced", classes=[0, 1, 2], y=[0]*4 + [1]*2 + [2]) = n / (K·n_c) = 7/12, 7/6, 7/3.
        var weights = ClassWeights.InverseFrequency([4, 2, 1]);

        Assert.Equal([7 / 12.0, 7 / 6.0, 7 / 3.0], weights, (a, b) => Math.Abs(a - b) < 1e-12);
        // A class of average size gets 1, and the weighted image count equals the image count.
        Assert.Equal([1.0, 1.0], ClassWeights.InverseFrequency([5, 5]));
        Assert.Equal(7, 4 * weights[0] + 2 * weights[1] + 1 * weights[2], 12);
    }

    [Fact]
    public void EffectiveNumberFollowsCuiEtAlNormalisedToAverageOne()
    {
        // β = 0.9: (1 − β) / (1 − β^n) = 0.1/0.3439, 0.1/0.19, 0.1/0.1 = 0.290782, 0.526316, 1; their sum 1.817098; × 3 / sum.
        var weights = ClassWeights.EffectiveNumber([4, 2, 1], 0.9);

        Assert.Equal([0.480077, 0.868939, 1.650984], weights, (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(1, weights.Average(), 12);
    }

    [Fact]
    public void EffectiveNumberGoesFromEqualWeightsToInverseFrequencyAsBetaGrowsAndIsMilderOnRealCounts()
    {
        int[] tuxPaint = [128, 50, 39, 32, 19, 18];

        Assert.All(ClassWeights.EffectiveNumber(tuxPaint, 1e-9), w => Assert.Equal(1, w, 6));
        var nearOne = ClassWeights.EffectiveNumber(tuxPaint, 1 - 1e-9);
        var inverse = ClassWeights.InverseFrequency(tuxPaint);
        var inverseAveragingOne = inverse.Select(w => w * inverse.Length / inverse.Sum()).ToArray();
        Assert.Equal(inverseAveragingOne, nearOne, (a, b) => Math.Abs(a - b) < 1e-5);
        // The default β = 0.999 ranks the classes as inverse frequency does but spreads less: largest/smallest 6.7 instead of 7.1.
        var byDefault = ClassWeights.For(ClassWeightingKind.EffectiveNumber, tuxPaint)!;
        Assert.Equal([0.2549, 0.6280, 0.8007, 0.9724, 1.6272, 1.7168], byDefault, (a, b) => Math.Abs(a - b) < 1e-4);
        Assert.True(byDefault.Max() / byDefault.Min() < inverse.Max() / inverse.Min());
    }

    [Fact]
    public void AClassWithoutTrainingImagesWeighsNothingAndIsNotCountedInK()
    {
        Assert.Equal([0.75, 0, 1.5], ClassWeights.InverseFrequency([6, 0, 3]));
        var effective = ClassWeights.EffectiveNumber([6, 0, 3], 0.5);
        Assert.Equal(0, effective[1]);
        Assert.Equal(2, effective[0] + effective[2], 12);
    }

    [Fact]
    public void NoWeightingHasNoWeights() => Assert.Null(ClassWeights.For(ClassWeightingKind.None, [4, 2, 1]));
}
