namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>Which images confident learning flags (Northcutt, Jiang &amp; Chuang 2021, "Confident Learning: Estimating
/// Uncertainty in Dataset Labels", JAIR 70, §3.2; cleanlab's <c>filter_by</c>).</summary>
public enum LabelIssueFilter
{
    /// <summary>"Prune by noise rate" (C<sub>confusion</sub> ranking, the paper's method 3 / cleanlab's default): for each
    /// given class i and other class j, the ⌊calibrated C[i][j]⌉ images labelled i with the largest margin p̂_j − p̂_i.</summary>
    PruneByNoiseRate,
    /// <summary>"Both": flagged by <see cref="PruneByNoiseRate"/> and counted off the diagonal of the confident joint.</summary>
    Both,
    /// <summary>"C_confusion"-free baseline: every image counted off the diagonal of the confident joint.</summary>
    ConfidentJointOffDiagonal,
}

/// <summary>One image confident learning flags: its given and suggested class, and its self-confidence p̂(given) (the
/// lower, the likelier the label is wrong; issues are ranked by it, lowest first).</summary>
public sealed record LabelIssueFlag(int Index, int Given, int Suggested, double SelfConfidence, double SuggestedProbability);

/// <summary>The confident joint of a labelled set: <see cref="Joint"/>[given][confident] counts the images whose
/// confident label (the most probable class among those whose p̂_j reaches the class threshold t_j) is that class;
/// <see cref="Confident"/> is −1 for an image with no class at its threshold.</summary>
public sealed record ConfidentJoint(long[,] Joint, double[] Thresholds, int[] Confident);

/// <summary>
/// Confident learning (Northcutt, Jiang &amp; Chuang 2021) on out-of-fold predicted probabilities p̂ [n][K] and given
/// labels ỹ: per-class thresholds t_j = mean of p̂_j over the images labelled j; the confident joint C[ỹ][y*]; the joint
/// calibrated so that row i sums to the count of label i (the paper's Eq. 2, before normalising to a distribution);
/// then the flagged set by a <see cref="LabelIssueFilter"/>. As in cleanlab 2.x, an image whose most probable class is
/// its given label is never flagged, and each class keeps at least one image. Deterministic; no randomness.
/// </summary>
public static class ConfidentLearning
{
    /// <summary>t_j = mean p̂_j over the images labelled j (NaN for a class with no images: none reaches it).</summary>
    public static double[] Thresholds(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, int classes)
    {
        var sum = new double[classes];
        var count = new int[classes];
        for (var i = 0; i < labels.Count; i++)
        {
            sum[labels[i]] += probabilities[i][labels[i]];
            count[labels[i]]++;
        }
        return [.. Enumerable.Range(0, classes).Select(j => count[j] == 0 ? double.NaN : sum[j] / count[j])];
    }

    /// <summary>The confident joint (the paper's Eq. 1): image i counts in C[ỹᵢ][argmax over {j : p̂ᵢⱼ ≥ t_j} of p̂ᵢⱼ].
    /// The thresholds are lowered by 1e-6 as cleanlab does, so that an image exactly at its class mean counts.</summary>
    public static ConfidentJoint Compute(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, int classes)
    {
        Check(probabilities, labels, classes);
        var thresholds = Thresholds(probabilities, labels, classes);
        var joint = new long[classes, classes];
        var confident = new int[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            var best = -1;
            for (var j = 0; j < classes; j++)
                if (!double.IsNaN(thresholds[j]) && probabilities[i][j] >= thresholds[j] - 1e-6 && (best < 0 || probabilities[i][j] > probabilities[i][best]))
                    best = j;
            confident[i] = best;
            if (best >= 0) joint[labels[i], best]++;
        }
        return new ConfidentJoint(joint, thresholds, confident);
    }

    /// <summary>The joint scaled so that each row sums to the number of images with that given label (a row with no
    /// confident images stays 0), rounded to whole images.</summary>
    public static long[,] Calibrate(long[,] joint, IReadOnlyList<int> labels)
    {
        var classes = joint.GetLength(0);
        var counts = new int[classes];
        foreach (var l in labels) counts[l]++;
        var calibrated = new long[classes, classes];
        for (var i = 0; i < classes; i++)
        {
            long row = 0;
            for (var j = 0; j < classes; j++) row += joint[i, j];
            if (row == 0) continue;
            for (var j = 0; j < classes; j++) calibrated[i, j] = (long)Math.Round((double)joint[i, j] * counts[i] / row, MidpointRounding.AwayFromZero);
        }
        return calibrated;
    }

    /// <summary>The images whose given label is likely wrong, lowest self-confidence first. The suggested class is the
    /// most probable class other than the given one.</summary>
    /// <exception cref="ArgumentException">sizes disagree, a label out of range, or fewer than 2 classes</exception>
    public static IReadOnlyList<LabelIssueFlag> FindIssues(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, int classes,
        LabelIssueFilter filter = LabelIssueFilter.PruneByNoiseRate)
    {
        var cj = Compute(probabilities, labels, classes);
        var n = labels.Count;
        var flagged = new bool[n];
        var counts = new int[classes];
        foreach (var l in labels) counts[l]++;

        if (filter is LabelIssueFilter.PruneByNoiseRate or LabelIssueFilter.Both)
        {
            var prune = Calibrate(cj.Joint, labels);
            for (var i = 0; i < classes; i++)
            {
                // Keep at least one image of the class: scale the row's prune counts down when they would take them all.
                long total = 0;
                for (var j = 0; j < classes; j++) if (j != i) total += prune[i, j];
                var allowed = Math.Max(0, counts[i] - 1);
                var scale = total > allowed ? (double)allowed / total : 1;
                var members = Enumerable.Range(0, n).Where(x => labels[x] == i).ToArray();
                for (var j = 0; j < classes; j++)
                {
                    if (j == i) continue;
                    var take = (int)Math.Floor(prune[i, j] * scale);
                    if (take <= 0) continue;
                    // The images labelled i that most look like j: largest margin p̂_j − p̂_i (ties: lower index first).
                    foreach (var x in members.OrderByDescending(x => probabilities[x][j] - probabilities[x][i]).ThenBy(x => x).Take(take))
                        flagged[x] = true;
                }
            }
        }
        if (filter == LabelIssueFilter.Both)
            for (var x = 0; x < n; x++) flagged[x] &= cj.Confident[x] >= 0 && cj.Confident[x] != labels[x];
        if (filter == LabelIssueFilter.ConfidentJointOffDiagonal)
            for (var x = 0; x < n; x++) flagged[x] = cj.Confident[x] >= 0 && cj.Confident[x] != labels[x];

        var issues = new List<LabelIssueFlag>();
        for (var x = 0; x < n; x++)
        {
            if (!flagged[x]) continue;
            var p = probabilities[x];
            var given = labels[x];
            // The model agrees with the given label: not an issue (cleanlab 2.x does the same).
            if (ArgMax(p, -1) == given) continue;
            var suggested = ArgMax(p, given);
            issues.Add(new LabelIssueFlag(x, given, suggested, p[given], p[suggested]));
        }
        return [.. issues.OrderBy(f => f.SelfConfidence).ThenBy(f => f.Index)];
    }

    private static int ArgMax(float[] p, int except)
    {
        var best = -1;
        for (var k = 0; k < p.Length; k++)
            if (k != except && (best < 0 || p[k] > p[best])) best = k;
        return best;
    }

    private static void Check(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, int classes)
    {
        if (classes < 2) throw new ArgumentException($"Confident learning needs at least 2 classes; got {classes}.", nameof(classes));
        if (probabilities.Count != labels.Count)
            throw new ArgumentException($"{probabilities.Count} probability rows for {labels.Count} labels: one row per image.", nameof(probabilities));
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes) throw new ArgumentException($"Label {labels[i]} of image {i} is outside 0..{classes - 1}.", nameof(labels));
            if (probabilities[i].Length != classes)
                throw new ArgumentException($"Image {i} has {probabilities[i].Length} probabilities; expected {classes}.", nameof(probabilities));
        }
    }
}
