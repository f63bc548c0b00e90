using TransferHub.Worker.Engine.Autopilot;

namespace TransferHub.Worker.Tests.Autopilot;

public sealed class LabelIssueSearchTests
{
    /// <summary>Gaussian classes shaped like pooled backbone features (many dimensions, each class raising a block of 8
    /// features by <paramref name="shift"/>, noise of sd <paramref name="noise"/> everywhere; the flipped
    /// view is the same point with fresh noise), then <paramref name="flips"/> images given another class at random.</summary>
    private static (FeatureSet Set, int[] TrueLabels, HashSet<int> Flipped) Noisy(int perClass, int classes, int dim, double shift, int flips, int seed, double noise = 1)
    {
        var random = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var plain = new List<float[]>();
        var flipped = new List<float[]>();
        var truth = new List<int>();
        for (var c = 0; c < classes; c++)
            for (var i = 0; i < perClass; i++)
            {
                plain.Add([.. Enumerable.Range(0, dim).Select(d => (float)((d / 8 == c ? shift : 0) + noise * Gaussian()))]);
                flipped.Add([.. Enumerable.Range(0, dim).Select(d => (float)((d / 8 == c ? shift : 0) + noise * Gaussian()))]);
                truth.Add(c);
            }
        var order = Enumerable.Range(0, truth.Count).ToArray();
        random.Shuffle(order);
        var chosen = order.Take(flips).ToHashSet();
        var labels = truth.ToArray();
        foreach (var i in chosen) labels[i] = (truth[i] + 1 + random.Next(classes - 1)) % classes;
        return (new FeatureSet(plain, flipped, labels, classes), [.. truth], chosen);
    }

    [Fact]
    public void FlippedLabelsAreFlaggedWithTheirTrueClassSuggestedAndFewCleanImagesWith()
    {
        var (set, truth, flipped) = Noisy(perClass: 40, classes: 4, dim: 128, shift: 1.5, flips: 16, seed: 7);

        var report = LabelIssueSearch.Find(set, new LabelIssueOptions { Seed = 1 });

        var issues = report.Verdicts.Where(v => v.LabelIssue).ToList();
        Assert.Equal(5, report.Folds);
        Assert.All(flipped, i => Assert.Contains(issues, v => v.Index == i));
        Assert.All(issues.Where(v => flipped.Contains(v.Index)), v => Assert.Equal(truth[v.Index], v.Suggested));
        Assert.All(issues, v => Assert.Equal(set.Labels[v.Index], v.Given));
        Assert.True(issues.Count - flipped.Count <= 2, $"{issues.Count - flipped.Count} clean images flagged");
        // Ranked by self-confidence p̂(given), lowest first; out-of-fold probabilities are distributions.
        Assert.Equal(issues.OrderBy(v => v.SelfConfidence).Select(v => v.Index), issues.Select(v => v.Index));
        Assert.All(report.OutOfFold, p => Assert.Equal(1.0, p.Sum(x => (double)x), 4));
        Assert.Equal(set.Count, report.OutOfFold.Count);
    }

    [Fact]
    public void ConfidentJointCountsImagesAtTheirClassThresholdsAndPrunesTheLargestMargins()
    {
        // Class 0's images have p̂₀ 0.9, 0.7, 0.2 → t₀ = 0.6; class 1's p̂₁ 0.8, 0.6, 0.4 → t₁ = 0.6.
        float[][] p = [[0.9f, 0.1f], [0.7f, 0.3f], [0.2f, 0.8f], [0.2f, 0.8f], [0.4f, 0.6f], [0.6f, 0.4f]];
        int[] labels = [0, 0, 0, 1, 1, 1];

        var joint = ConfidentLearning.Compute(p, labels, 2);

        Assert.Equal([0.6, 0.6], joint.Thresholds.Select(t => Math.Round(t, 6)));
        // Image 2 (labelled 0) is confidently 1; image 5 (labelled 1) confidently 0; image 4 is at t₁ and counts as 1.
        Assert.Equal(new long[,] { { 2, 1 }, { 1, 2 } }, joint.Joint);
        Assert.Equal([0, 0, 1, 1, 1, 0], joint.Confident);
        var issues = ConfidentLearning.FindIssues(p, labels, 2, LabelIssueFilter.PruneByNoiseRate);
        // One image per off-diagonal count, the one with the largest margin; lowest self-confidence first.
        Assert.Equal([2, 5], issues.Select(f => f.Index));
        Assert.Equal([1, 0], issues.Select(f => f.Suggested));
        Assert.Equal([0.2, 0.4], issues.Select(f => Math.Round(f.SelfConfidence, 6)));
    }

    [Fact]
    public void AnImageFarFromEveryClassIsAnOutlierAndMislabelledOnesAreNot()
    {
        var (set, _, flipped) = Noisy(perClass: 30, classes: 3, dim: 128, shift: 3, flips: 6, seed: 3, noise: 0.5);
        // A picture of none of the classes: its features point where no class does.
        var far = Enumerable.Range(0, 128).Select(d => d / 8 == 5 ? 3f : 0f).ToArray();
        var withOutlier = new FeatureSet([.. set.Plain, far], [.. set.Flipped!, far], [.. set.Labels, 0], 3);

        var report = LabelIssueSearch.Find(withOutlier, new LabelIssueOptions());

        var outliers = report.Verdicts.Where(v => v.Outlier).Select(v => v.Index).ToList();
        Assert.Contains(set.Count, outliers);
        Assert.DoesNotContain(outliers, flipped.Contains);
        Assert.True(outliers.Count <= 2, $"{outliers.Count} outliers: {string.Join(", ", outliers)}");
        Assert.True(report.Verdicts.Single(v => v.Index == set.Count).OutlierDistance > report.OutlierCutoff);
    }

    [Fact]
    public void ProbabilitiesThatDoNotFitTheLabelsAreRefusedWithTheReason()
    {
        var mismatch = Assert.Throws<ArgumentException>(() => ConfidentLearning.FindIssues([[0.5f, 0.5f]], [0, 1], 2));
        Assert.Contains("one row per image", mismatch.Message);
        var range = Assert.Throws<ArgumentException>(() => ConfidentLearning.FindIssues([[0.5f, 0.5f]], [2], 2));
        Assert.Contains("outside 0..1", range.Message);
    }
}
