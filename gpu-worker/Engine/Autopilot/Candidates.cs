using System.Globalization;

namespace TransferHub.Worker.Engine.Autopilot;

public enum CandidateKind { LogisticRegression, NearestClassMean }

public enum PreprocessingKind
{
    /// <summary>Per-feature standardisation (z-scores).</summary>
    Standardise,
    /// <summary>Centred, L2-normalised, scaled by √dim.</summary>
    CentredL2,
}

/// <summary>
/// One classifier the autopilot can train on cached features. Logistic regression: <see cref="SoftmaxRegression"/>
/// with inverse L2 strength <see cref="C"/>, optional label smoothing and class-balanced row weights
/// (n / (K·n_c), scikit-learn's <c>class_weight="balanced"</c>). Nearest class mean: SimpleShot (Wang et al. 2019,
/// "SimpleShot: Revisiting Nearest-Neighbor Classification for Few-Shot Learning"): features centred on the training
/// mean and L2-normalised, each image assigned to the class whose mean is closest; its probabilities are
/// softmax(−<see cref="NearestClassMeanScale"/>·‖z − m_c‖²).
/// </summary>
/// <param name="PriorSecondsPerFit">A cost estimate before anything was measured (null: estimate from what was measured).</param>
/// <param name="PooledStages">Which features it uses: the pooled output of the backbone's last stage (1) or of its last
/// two stages concatenated (2; <see cref="Backbones.Backbone.PooledStages"/>).</param>
public sealed record Candidate(string Name, CandidateKind Kind, PreprocessingKind Preprocessing, double C = 1, double LabelSmoothing = 0,
    bool ClassBalanced = false, double? PriorSecondsPerFit = null, int PooledStages = 1)
{
    public const double NearestClassMeanScale = 10;

    /// <summary>Candidates whose cost per fit is alike (the cost estimate learns per family).</summary>
    public string Family => $"{Kind}/{Preprocessing}/{LabelSmoothing}/{ClassBalanced}/{PooledStages}";

    private string FeaturesParam => PooledStages == 1 ? "features=last_stage" : $"features=last_{PooledStages}_stages";

    public string Params => Kind == CandidateKind.NearestClassMean
        ? $"{FeaturesParam} preprocessing=centred_l2 metric=euclidean"
        : string.Create(CultureInfo.InvariantCulture,
            $"{FeaturesParam} preprocessing={(Preprocessing == PreprocessingKind.Standardise ? "standardise" : "centred_l2")} C={C:G3} label_smoothing={LabelSmoothing:G3} class_balanced={(ClassBalanced ? "true" : "false")} solver=lbfgs");

    /// <summary>Trains on <paramref name="images"/> (their flips too when <paramref name="useFlips"/>).</summary>
    public FittedClassifier Fit(FeatureSet set, IReadOnlyList<int> images, bool useFlips, CancellationToken cancellationToken = default)
    {
        var (offset, dim) = set.StageSpan(PooledStages);
        var (rows, labels) = set.TrainingRows(images, useFlips, PooledStages);
        if (Kind == CandidateKind.NearestClassMean)
        {
            var pre = FeaturePreprocessing.CentredL2(rows, scaleBySqrtDim: false);
            var z = rows.Select(r => pre.Apply(r)).ToList();
            var weight = new float[set.Classes * dim];
            var bias = new float[set.Classes];
            for (var k = 0; k < set.Classes; k++)
            {
                var members = Enumerable.Range(0, z.Count).Where(i => labels[i] == k).ToList();
                if (members.Count == 0)
                {
                    bias[k] = -1e4f; // a class without training images is never predicted
                    continue;
                }
                var mean = new double[dim];
                foreach (var i in members)
                    for (var d = 0; d < dim; d++) mean[d] += z[i][d] / members.Count;
                // −s‖z − m‖² = s(2 z·m − ‖m‖²) − s‖z‖²; the last term is the same for every class, so softmax drops it.
                for (var d = 0; d < dim; d++) weight[k * dim + d] = (float)(2 * NearestClassMeanScale * mean[d]);
                bias[k] = (float)(-NearestClassMeanScale * mean.Sum(m => m * m));
            }
            return new FittedClassifier(this, pre, new LinearWeights(weight, bias, set.Classes, dim), new FitInfo(0, true, double.NaN), offset);
        }

        var preprocessing = Preprocessing == PreprocessingKind.Standardise
            ? FeaturePreprocessing.Standardise(rows)
            : FeaturePreprocessing.CentredL2(rows, scaleBySqrtDim: true);
        var x = rows.Select(r => preprocessing.Apply(r)).ToList();
        double[]? rowWeights = null;
        if (ClassBalanced)
        {
            var counts = new int[set.Classes];
            foreach (var l in labels) counts[l]++;
            var classWeights = Contracts.Jobs.ClassWeights.InverseFrequency(counts);
            rowWeights = labels.Select(l => classWeights[l]).ToArray();
        }
        var (weights, info) = SoftmaxRegression.Fit(x, labels, set.Classes, C, LabelSmoothing, rowWeights, cancellationToken);
        return new FittedClassifier(this, preprocessing, weights, info, offset);
    }

    /// <summary>The default grid: the measured best default first, then cheapest and most regularised first (list order
    /// breaks exact ties).</summary>
    /// <param name="imbalanced">true when the largest class has at least 3× the images of the smallest: class-balanced variants join.</param>
    /// <param name="pooledStages">How many stages the feature set pools (1 or 2). With 2, the whole grid uses both
    /// stages' features (measured better on Tux Paint) and a few of its best-measured members also run on the last
    /// stage alone (suffix <c>-last-stage</c>), so cross-validation can still choose the usual features.</param>
    public static IReadOnlyList<Candidate> DefaultGrid(bool imbalanced, int pooledStages = 1)
    {
        double[] grid = [1e-3, 1e-2, 1e-1, 1, 10, 100];
        var p = pooledStages;
        var first = new Candidate(GridName("logreg-std-ls0.1", 0.1), CandidateKind.LogisticRegression, PreprocessingKind.Standardise, 0.1,
            LabelSmoothing: 0.1, PooledStages: p);
        // The first candidate always runs, even when computing the features used up the budget: the one that won most
        // often when measured (docs/benchmarks.md), not the cheapest, so that a tight budget still gets a good model.
        var list = new List<Candidate> { first, new("nearest-class-mean", CandidateKind.NearestClassMean, PreprocessingKind.CentredL2, PooledStages: p) };
        // Imbalanced classes: the class-balanced variants are what matters most there (the score is macro-F1), so they
        // come before the rest of the grid, which a tight budget may skip.
        if (imbalanced)
            list.AddRange(new[] { 1e-2, 1e-1, 1 }.Select(c =>
                new Candidate(GridName("logreg-std-balanced", c), CandidateKind.LogisticRegression, PreprocessingKind.Standardise, c, ClassBalanced: true, PooledStages: p)));
        list.AddRange(grid.Select(c => new Candidate(GridName("logreg-std", c), CandidateKind.LogisticRegression, PreprocessingKind.Standardise, c, PooledStages: p)));
        list.AddRange(grid.Select(c => new Candidate(GridName("logreg-l2", c), CandidateKind.LogisticRegression, PreprocessingKind.CentredL2, c, PooledStages: p)));
        list.AddRange(new[] { 1e-2, 1 }.Select(c =>
            new Candidate(GridName("logreg-std-ls0.1", c), CandidateKind.LogisticRegression, PreprocessingKind.Standardise, c, LabelSmoothing: 0.1, PooledStages: p)));
        if (pooledStages > 1)
        {
            list.AddRange(new[] { 1e-2, 1e-1 }.Select(c =>
                new Candidate(GridName("logreg-std", c) + LastStageSuffix, CandidateKind.LogisticRegression, PreprocessingKind.Standardise, c)));
            list.Add(new Candidate(GridName("logreg-std-ls0.1", 0.1) + LastStageSuffix, CandidateKind.LogisticRegression, PreprocessingKind.Standardise, 0.1, LabelSmoothing: 0.1));
            list.Add(new Candidate(GridName("logreg-l2", 1) + LastStageSuffix, CandidateKind.LogisticRegression, PreprocessingKind.CentredL2, 1));
            if (imbalanced)
                list.Add(new Candidate(GridName("logreg-std-balanced", 0.1) + LastStageSuffix, CandidateKind.LogisticRegression, PreprocessingKind.Standardise, 0.1, ClassBalanced: true));
        }
        return list;
    }

    /// <summary>Appended to the names of candidates that use only the last stage's features when the grid pools two.</summary>
    public const string LastStageSuffix = "-last-stage";

    /// <summary>True when the largest class has at least 3× the images of the smallest (<see cref="Contracts.Jobs.ClassWeights.ImbalanceRatio"/>,
    /// the web's training doctor uses the same).</summary>
    public static bool IsImbalanced(IEnumerable<int> labels) =>
        Contracts.Jobs.ClassWeights.IsImbalanced(labels.GroupBy(l => l).Select(g => g.Count()));

    private static string GridName(string prefix, double c) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-C{c:G3}");
}

/// <summary>A trained candidate: preprocessing + linear layer. Probabilities with test-time augmentation are the mean
/// of the views' softmax probabilities.</summary>
/// <param name="Offset">Where its features start in a feature-set row (0, or the width of the stages it does not use).</param>
public sealed record FittedClassifier(Candidate Candidate, FeaturePreprocessing Preprocessing, LinearWeights Weights, FitInfo Info, int Offset = 0)
{
    /// <summary>Class probabilities [K] of one feature-set row (the whole row; the classifier takes its stages' part).</summary>
    public double[] Probabilities(ReadOnlySpan<float> features)
    {
        var z = Preprocessing.Apply(features.Slice(Offset, Weights.Dim));
        var logits = new double[Weights.Classes];
        for (var k = 0; k < Weights.Classes; k++)
        {
            double sum = Weights.Bias[k];
            var row = Weights.Weight.AsSpan(k * Weights.Dim, Weights.Dim);
            for (var d = 0; d < z.Length; d++) sum += row[d] * z[d];
            logits[k] = sum;
        }
        var max = logits.Max();
        double total = 0;
        for (var k = 0; k < logits.Length; k++) total += logits[k] = Math.Exp(logits[k] - max);
        for (var k = 0; k < logits.Length; k++) logits[k] /= total;
        return logits;
    }

    /// <summary>Image <paramref name="image"/>'s probabilities: with <paramref name="tta"/> and a flipped view, the mean of
    /// both views' probabilities; otherwise the plain view's.</summary>
    public float[] Predict(FeatureSet set, int image, bool tta)
    {
        var p = Probabilities(set.Plain[image]);
        if (tta && set.Flipped is not null)
        {
            var q = Probabilities(set.Flipped[image]);
            for (var k = 0; k < p.Length; k++) p[k] = (p[k] + q[k]) / 2;
        }
        return p.Select(v => (float)v).ToArray();
    }
}
