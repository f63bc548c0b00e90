using System.Diagnostics;
using TransferHub.Worker.Engine.Evaluation;

namespace TransferHub.Worker.Engine.Autopilot;

public sealed record LabelIssueOptions
{
    /// <summary>k of the stratified k-fold (fewer when the smallest class has fewer images; at least 2).</summary>
    public int MaxFolds { get; init; } = 5;
    /// <summary>Seed of the fold assignment.</summary>
    public long Seed { get; init; }
    public LabelIssueFilter Filter { get; init; } = LabelIssueSearch.DefaultFilter;
    /// <summary>Training rows include each image's flip; out-of-fold probabilities average both views.</summary>
    public bool UseFlips { get; init; } = true;
    /// <summary>Tukey's fence factor of <see cref="LabelIssueSearch.Outliers"/>.</summary>
    public double OutlierFence { get; init; } = LabelIssueSearch.DefaultOutlierFence;
    /// <summary>null = <see cref="LabelIssueSearch.Classifier"/> (a benchmark may compare others).</summary>
    public Candidate? Classifier { get; init; }
}

/// <summary>What the search says about one image (an index into the feature set): a label issue (with the suggested
/// class), an outlier, or both. <see cref="SelfConfidence"/> is p̂(given), out of fold; <see cref="OutlierDistance"/> the
/// distance to the nearest class mean (see <see cref="LabelIssueSearch.Outliers"/>).</summary>
public sealed record ImageVerdict(int Index, int Given, int Suggested, double SelfConfidence, double SuggestedProbability, bool LabelIssue,
    bool Outlier, double OutlierDistance);

/// <summary>The whole answer: every image's out-of-fold probabilities, the verdicts (label issues lowest
/// self-confidence first, then outliers farthest first), the confident joint and how it was computed.</summary>
public sealed record LabelIssueReport(IReadOnlyList<float[]> OutOfFold, IReadOnlyList<ImageVerdict> Verdicts, ConfidentJoint Joint, int Folds,
    double OutOfFoldAccuracy, double OutlierCutoff, string Classifier, LabelIssueFilter Filter, double Seconds);

/// <summary>
/// Finds likely label errors and outliers among images with cached frozen-backbone features (<see cref="FeatureSet"/>):
/// out-of-fold probabilities by stratified k-fold (<see cref="StratifiedFolds"/>) with the autopilot's logistic
/// regression (<see cref="Classifier"/>), then confident learning (<see cref="ConfidentLearning"/>; Northcutt, Jiang &amp;
/// Chuang 2021). Outliers: <see cref="Outliers"/>.
/// </summary>
public static class LabelIssueSearch
{
    /// <summary>The filter measured best on Tux Paint with 10 % of labels flipped (docs/benchmarks.md, "Label issues").</summary>
    public const LabelIssueFilter DefaultFilter = LabelIssueFilter.PruneByNoiseRate;

    /// <summary>Tukey's "far out" fence: Q3 + 3·IQR.</summary>
    public const double DefaultOutlierFence = 3;

    /// <summary>The classifier whose out-of-fold probabilities feed confident learning: multinomial logistic regression
    /// on standardised features of the last two stages, C = 0.001 (strongly regularised: the noisy labels it learns from
    /// are what it must not memorise), no label smoothing. Measured on Tux Paint with 10 % flipped labels
    /// (docs/benchmarks.md, "Label issues"): C 1e-4, 1e-3, 3e-3, 1e-2, 0.1 gave precision 0.62, 0.73, 0.67, 0.60, 0.53 at
    /// recall 0.75–0.81 (seeds 0–2; 1e-3 confirmed on seeds 3–5), nearest class mean 0.68.</summary>
    public static Candidate Classifier(int pooledStages) =>
        new("logreg-std-C0.001", CandidateKind.LogisticRegression, PreprocessingKind.Standardise, 1e-3, PooledStages: pooledStages);

    /// <summary>p̂ [n][K] of each image from a model that never saw it: k folds, each fitted on the other k − 1.</summary>
    /// <param name="progress">called with (folds done, folds)</param>
    public static (float[][] Probabilities, int Folds) OutOfFold(FeatureSet set, Candidate classifier, LabelIssueOptions options,
        Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        var k = StratifiedFolds.FoldCount(set.Labels, options.MaxFolds);
        var folds = StratifiedFolds.Assign(set.Labels, k, options.Seed);
        var result = new float[set.Count][];
        for (var fold = 0; fold < k; fold++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var train = Enumerable.Range(0, set.Count).Where(i => folds[i] != fold).ToList();
            var fitted = classifier.Fit(set, train, options.UseFlips, cancellationToken);
            for (var i = 0; i < set.Count; i++)
                if (folds[i] == fold) result[i] = fitted.Predict(set, i, options.UseFlips);
            progress?.Invoke(fold + 1, k);
        }
        return (result, k);
    }

    /// <summary>
    /// Images far from every class: each image's plain-view features are centred on the mean of all images and
    /// L2-normalised (SimpleShot's CL2N, Wang et al. 2019); d = the Euclidean distance to the nearest class mean (means of
    /// the normalised features of the images given that class). An image is an outlier when d exceeds Tukey's fence
    /// Q3 + <paramref name="fence"/>·(Q3 − Q1) of all images' d (quartiles by linear interpolation).
    /// </summary>
    /// <returns>d per image and the cutoff.</returns>
    public static (double[] Distance, double Cutoff) Outliers(FeatureSet set, double fence = DefaultOutlierFence)
    {
        var pre = FeaturePreprocessing.CentredL2(set.Plain, scaleBySqrtDim: false);
        var z = set.Plain.Select(r => pre.Apply(r)).ToArray();
        var means = new double[set.Classes][];
        for (var c = 0; c < set.Classes; c++)
        {
            var members = Enumerable.Range(0, set.Count).Where(i => set.Labels[i] == c).ToList();
            if (members.Count == 0) continue;
            var mean = new double[set.Dim];
            foreach (var i in members)
                for (var d = 0; d < set.Dim; d++) mean[d] += z[i][d] / members.Count;
            means[c] = mean;
        }
        var distance = z.Select(v => means.Where(m => m is not null).Min(m =>
        {
            double s = 0;
            for (var d = 0; d < v.Length; d++) s += (v[d] - m![d]) * (v[d] - m[d]);
            return Math.Sqrt(s);
        })).ToArray();
        var sorted = distance.Order().ToArray();
        double Quantile(double q)
        {
            var at = q * (sorted.Length - 1);
            var lo = (int)Math.Floor(at);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
        }
        var (q1, q3) = (Quantile(0.25), Quantile(0.75));
        return (distance, q3 + fence * (q3 - q1));
    }

    /// <summary>Out-of-fold probabilities, confident learning and outliers for every image of <paramref name="set"/>.</summary>
    /// <exception cref="ArgumentException">fewer than 2 classes with images</exception>
    public static LabelIssueReport Find(FeatureSet set, LabelIssueOptions options, Action<int, int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (set.Labels.Distinct().Count() < 2) throw new ArgumentException("Label issues need images of at least 2 classes.");
        var clock = Stopwatch.StartNew();
        var classifier = options.Classifier ?? Classifier(set.Blocks.Count);
        var (p, k) = OutOfFold(set, classifier, options, progress, cancellationToken);
        var joint = ConfidentLearning.Compute(p, set.Labels, set.Classes);
        var issues = ConfidentLearning.FindIssues(p, set.Labels, set.Classes, options.Filter).ToDictionary(f => f.Index);
        var (distance, cutoff) = Outliers(set, options.OutlierFence);
        var verdicts = new List<ImageVerdict>();
        foreach (var issue in issues.Values.OrderBy(f => f.SelfConfidence).ThenBy(f => f.Index))
            verdicts.Add(new ImageVerdict(issue.Index, issue.Given, issue.Suggested, issue.SelfConfidence, issue.SuggestedProbability, true,
                distance[issue.Index] > cutoff, distance[issue.Index]));
        foreach (var i in Enumerable.Range(0, set.Count).Where(i => distance[i] > cutoff && !issues.ContainsKey(i)).OrderByDescending(i => distance[i]))
        {
            var suggested = ClassificationReport.ArgMax(p[i]);
            verdicts.Add(new ImageVerdict(i, set.Labels[i], suggested, p[i][set.Labels[i]], p[i][suggested], false, true, distance[i]));
        }
        var accuracy = Enumerable.Range(0, set.Count).Count(i => ClassificationReport.ArgMax(p[i]) == set.Labels[i]) / (double)set.Count;
        return new LabelIssueReport(p, verdicts, joint, k, accuracy, cutoff, classifier.Params, options.Filter, clock.Elapsed.TotalSeconds);
    }
}
