using System.Diagnostics;
using System.Globalization;
using TransferHub.Contracts.Metrics;
using TransferHub.Worker.Engine.Evaluation;

namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>One candidate's cross-validated score (cumulative over the repetitions so far). <see cref="Rank"/> is 0
/// while streaming and 1.. in the final leaderboard.</summary>
public sealed record CandidateScore(string Name, string Params, double Mean, double Low, double High, double MacroF1,
    double Accuracy, int Folds, double Seconds, string Metric, int Rank = 0);

public sealed record SkippedCandidate(string Name, string Reason);

public sealed record Selection(IReadOnlyList<CandidateScore> Leaderboard, Candidate Winner, string Reason,
    IReadOnlyList<SkippedCandidate> Skipped, int FoldsPerRepeat, int Repeats)
{
    /// <summary>The winner's out-of-fold class probabilities from the first repetition: row i = pool image i, predicted
    /// by the fold model that did not train on it (with the flip when the options use it). Auto mode fits the
    /// temperature on these, since the refitted winner has no held-out images left.</summary>
    public IReadOnlyList<float[]> WinnerOutOfFold { get; init; } = [];

    /// <summary>The leaderboard row of the model the job keeps: <see cref="Winner"/>'s, or the LP-FT row's when that stage
    /// beat it (ADR 036). Not always rank 1: the board ranks by mean score, the winner is picked by
    /// <see cref="SelectionRule"/>.</summary>
    public string WinnerName => WinnerRow ?? Winner.Name;

    /// <summary>Set when a row other than <see cref="Winner"/>'s holds the kept model (LP-FT).</summary>
    public string? WinnerRow { get; init; }
}

public sealed record AutoSelectorOptions
{
    /// <summary>Seconds the selection may take, including the final refit (the caller subtracts what it already spent).</summary>
    public double BudgetSeconds { get; init; } = 60;
    public int MaxFolds { get; init; } = 5;
    /// <summary>Repetitions of k-fold with other fold seeds, while the budget allows.</summary>
    public int MaxRepeats { get; init; } = 3;
    public long Seed { get; init; }
    /// <summary>Training rows include each image's flip (when the feature set has one); evaluation averages both views.</summary>
    public bool UseFlips { get; init; } = true;
    /// <summary>Seconds since the selection started (a test may pass a fake clock).</summary>
    public Func<double>? Clock { get; init; }
    /// <summary>How the winner is picked from the scores (<see cref="SelectionRule"/>).</summary>
    public SelectionRule Rule { get; init; } = SelectionRule.BeatTheDefault;
}

public enum SelectionRule
{
    /// <summary>The first candidate (the grid's measured default) wins unless another beats it beyond cross-validation
    /// noise: the corrected 95 % interval of their fold-by-fold difference (<see cref="PairedFolds"/>) lies above 0.
    /// Among those that do, the highest mean wins.</summary>
    BeatTheDefault,
    /// <summary>The highest mean wins, however small its lead (the rule before ADR 037; kept for the benchmark).</summary>
    HighestMean,
}

/// <summary>
/// Chooses among <see cref="Candidate"/>s by stratified k-fold cross-validation on the images it is given — the
/// caller passes only train + val (see <see cref="SelectionPool"/>), so the test split cannot influence any choice.
/// Score per fold: accuracy, or macro-F1 when classes are imbalanced (largest ≥ 3× smallest), both from
/// <see cref="ClassificationMetrics.ForRun"/>; the leaderboard ranks by the mean over folds (the other score breaks
/// ties, then list order), with a 95 % t-interval over the fold scores. The winner is the first candidate (the grid's
/// measured default) unless another beats it beyond cross-validation noise (<see cref="SelectionRule.BeatTheDefault"/>,
/// ADR 037): picking the highest of two dozen means that lie within noise of one another picks noise (measured on Tux
/// Paint: 1.3 points of test accuracy lost to it). A candidate starts only if its estimated cost
/// (folds × its family's measured seconds per fit, or its prior) still fits the budget with a refit in reserve;
/// otherwise it is skipped and reported. The first candidate always runs, so there is always a winner. Further repetitions (other fold seeds) run while a whole round fits.
/// </summary>
public sealed class AutoSelector(AutoSelectorOptions options)
{
    public Selection Select(FeatureSet pool, IReadOnlyList<Candidate> candidates, Action<CandidateScore> scored,
        Action<string, string> log, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0) throw new ArgumentException("No candidates to choose from.", nameof(candidates));
        var stopwatch = Stopwatch.StartNew();
        var clock = options.Clock ?? (() => stopwatch.Elapsed.TotalSeconds);
        var start = clock();
        double Elapsed() => clock() - start;

        var k = StratifiedFolds.FoldCount(pool.Labels, options.MaxFolds);
        var imbalanced = Candidate.IsImbalanced(pool.Labels);
        var metric = imbalanced ? "macro_f1" : "accuracy";
        var perFit = new Dictionary<string, List<double>>();
        var results = new Dictionary<string, (List<double> Accuracy, List<double> MacroF1, double Seconds)>();
        var skipped = new List<SkippedCandidate>();
        var active = new List<Candidate>();
        var outOfFold = new Dictionary<string, float[][]>();
        var repeats = 0;

        double Estimate(Candidate c)
        {
            if (perFit.TryGetValue(c.Family, out var seen)) return seen.Max();
            if (c.PriorSecondsPerFit is { } prior) return prior;
            return perFit.Count == 0 ? 0 : perFit.Values.Max(v => v.Max());
        }
        double Reserve() => perFit.Count == 0 ? 0 : perFit.Values.Max(v => v.Max()) * 2;

        for (var repeat = 0; repeat < Math.Max(1, options.MaxRepeats); repeat++)
        {
            var folds = StratifiedFolds.Assign(pool.Labels, k, options.Seed + repeat);
            var round = repeat == 0 ? candidates : active;
            if (repeat > 0)
            {
                var roundCost = active.Sum(c => k * Estimate(c));
                if (Elapsed() + roundCost + Reserve() > options.BudgetSeconds)
                {
                    log("info", string.Create(CultureInfo.InvariantCulture,
                        $"Autopilot: stopped after {repeats} repetition(s) of {k}-fold cross-validation: another would take about {roundCost:F1} s and {Math.Max(0, options.BudgetSeconds - Elapsed()):F1} s of the {options.BudgetSeconds:F1} s for choosing are left."));
                    break;
                }
            }
            foreach (var candidate in round)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (repeat == 0)
                {
                    var cost = k * Estimate(candidate);
                    var left = options.BudgetSeconds - Elapsed() - Reserve();
                    // The first candidate always runs, even over budget, so that the job has a model.
                    if (cost > left && active.Count > 0)
                    {
                        var reason = string.Create(CultureInfo.InvariantCulture,
                            $"estimated {cost:F1} s for {k} folds, {Math.Max(0, left):F1} s of the {options.BudgetSeconds:F1} s for choosing left");
                        skipped.Add(new SkippedCandidate(candidate.Name, reason));
                        log("info", $"Autopilot: skipped {candidate.Name}: {reason}.");
                        continue;
                    }
                    active.Add(candidate);
                }
                var before = Elapsed();
                var (accuracy, macroF1, _) = results.TryGetValue(candidate.Name, out var r) ? r : ([], [], 0);
                for (var fold = 0; fold < k; fold++)
                {
                    var fitStart = Elapsed();
                    var train = Enumerable.Range(0, pool.Count).Where(i => folds[i] != fold).ToList();
                    var held = Enumerable.Range(0, pool.Count).Where(i => folds[i] == fold).ToList();
                    var fitted = candidate.Fit(pool, train, options.UseFlips, cancellationToken);
                    var probabilities = held.Select(i => fitted.Predict(pool, i, options.UseFlips)).ToList();
                    if (repeat == 0)
                    {
                        if (!outOfFold.TryGetValue(candidate.Name, out var rows)) outOfFold[candidate.Name] = rows = new float[pool.Count][];
                        for (var j = 0; j < held.Count; j++) rows[held[j]] = probabilities[j];
                    }
                    var predicted = probabilities.Select(p => ClassificationReport.ArgMax(p)).ToList();
                    var metrics = ClassificationMetrics.ForRun([.. held.Select(i => pool.Labels[i])], predicted, pool.Classes);
                    accuracy.Add(metrics.Accuracy);
                    macroF1.Add(metrics.Macro.F1);
                    if (!perFit.TryGetValue(candidate.Family, out var list)) perFit[candidate.Family] = list = [];
                    list.Add(Elapsed() - fitStart);
                }
                results[candidate.Name] = (accuracy, macroF1, (r.Seconds) + Elapsed() - before);
                scored(Score(candidate, results[candidate.Name], metric));
            }
            repeats++;
        }

        var order = candidates.Select((c, i) => (c, i)).ToDictionary(p => p.c.Name, p => p.i);
        var board = active.Select(c => Score(c, results[c.Name], metric))
            .OrderByDescending(s => s.Mean)
            .ThenByDescending(s => imbalanced ? s.Accuracy : s.MacroF1)
            .ThenBy(s => order[s.Name])
            .Select((s, i) => s with { Rank = i + 1 })
            .ToList();
        var reference = active[0];
        List<double> Main(Candidate c) => imbalanced ? results[c.Name].MacroF1 : results[c.Name].Accuracy;
        // Each challenger's lead over the default on the same folds (every active candidate ran in every repetition).
        var leads = active.Skip(1).Where(c => Main(c).Count == Main(reference).Count && Main(c).Count >= 2)
            .ToDictionary(c => c.Name, c => PairedFolds.Difference(Main(c), Main(reference), k));
        var winnerName = options.Rule == SelectionRule.HighestMean
            ? board[0].Name
            : board.FirstOrDefault(s => s.Name == reference.Name || (leads.TryGetValue(s.Name, out var lead) && lead.Low > 0))?.Name ?? reference.Name;
        var winner = active.First(c => c.Name == winnerName);
        return new Selection(board, winner, Why(board, winner.Name, reference.Name, leads, options.Rule, metric, k, repeats), skipped, k, repeats)
        {
            WinnerOutOfFold = outOfFold[winner.Name],
        };
    }

    private static CandidateScore Score(Candidate c, (List<double> Accuracy, List<double> MacroF1, double Seconds) r, string metric)
    {
        var main = metric == "accuracy" ? r.Accuracy : r.MacroF1;
        // Accuracy and macro-F1 lie in [0, 1] (99.3 % ± 0.8 would otherwise end at 100.1 %).
        var (mean, low, high) = TInterval.Of(main, min: 0, max: 1);
        return new CandidateScore(c.Name, c.Params, mean, low, high, r.MacroF1.Average(), r.Accuracy.Average(), main.Count, r.Seconds, metric);
    }

    private static string Why(IReadOnlyList<CandidateScore> board, string winnerName, string referenceName,
        IReadOnlyDictionary<string, (double Mean, double Low, double High)> leads, SelectionRule rule, string metric, int k, int repeats)
    {
        var best = board.First(s => s.Name == winnerName);
        // Accuracy as a percentage, macro-F1 as a fraction: as the leaderboard shows them.
        string Format(double score) => metric == "accuracy"
            ? score.ToString("P1", CultureInfo.InvariantCulture)
            : score.ToString("0.000", CultureInfo.InvariantCulture);
        string Signed(double difference) => metric == "accuracy"
            ? (difference * 100).ToString("+0.0;−0.0;0.0", CultureInfo.InvariantCulture) + " points"
            : difference.ToString("+0.000;−0.000;0.000", CultureInfo.InvariantCulture);
        string Lead(string candidate) => leads.TryGetValue(candidate, out var lead)
            ? $"{Signed(lead.Mean)} (95 % interval {Signed(lead.Low)} to {Signed(lead.High)})"
            : "not measured on the same folds as the default";
        var name = metric == "accuracy" ? "accuracy" : "macro-F1 (classes are imbalanced: the largest has at least 3× the images of the smallest)";
        var over = string.Create(CultureInfo.InvariantCulture, $"over {best.Folds} folds ({k}-fold × {repeats}) of train + val");
        if (board.Count == 1)
            return string.Create(CultureInfo.InvariantCulture,
                $"{best.Name} is the only classifier the time budget scored: mean cross-validated {name} {Format(best.Mean)} (95 % CI {Format(best.Low)}–{Format(best.High)}) {over}; the test split was not used.");
        // Plain words first; the method's name last, for those who want to look it up.
        const string Noise = "measured fold by fold on the same folds and widened because the folds share training images (corrected resampled t-test, Nadeau & Bengio 2003)";
        string text;
        if (rule == SelectionRule.HighestMean || (winnerName == board[0].Name && winnerName != referenceName))
        {
            text = string.Create(CultureInfo.InvariantCulture,
                $"{best.Name} has the highest mean cross-validated {name}: {Format(best.Mean)} (95 % CI {Format(best.Low)}–{Format(best.High)}) {over}; the test split was not used to choose.");
            if (rule == SelectionRule.BeatTheDefault)
                text += $" It beats the default {referenceName} beyond cross-validation noise: its lead is {Lead(winnerName)}, {Noise}.";
            var second = board.First(s => s.Name != winnerName);
            text += string.Create(CultureInfo.InvariantCulture, $" Runner-up: {second.Name} {Format(second.Mean)}.");
            if (rule == SelectionRule.HighestMean && second.Mean >= best.Low)
                text += " The runner-up lies inside the winner's interval, so the difference is within cross-validation noise.";
            return text;
        }
        if (winnerName == referenceName)
        {
            text = string.Create(CultureInfo.InvariantCulture,
                $"{best.Name}, the default, is kept. Its mean cross-validated {name}: {Format(best.Mean)} (95 % CI {Format(best.Low)}–{Format(best.High)}) {over}; the test split was not used to choose.");
            if (board[0].Name == referenceName)
                return text + string.Create(CultureInfo.InvariantCulture, $" No other classifier scored higher (runner-up: {board[1].Name} {Format(board[1].Mean)}).");
            var top = board[0];
            return text + string.Create(CultureInfo.InvariantCulture,
                $" {top.Name} scored higher ({Format(top.Mean)}), but its lead could be chance: {Lead(top.Name)}, {Noise}. A classifier replaces the default only when its lead's interval stays above 0.");
        }
        // A challenger beat the default, but the top of the board did not (its lead was within the noise).
        return string.Create(CultureInfo.InvariantCulture,
            $"{best.Name} wins. Its mean cross-validated {name}: {Format(best.Mean)} (95 % CI {Format(best.Low)}–{Format(best.High)}) {over}; the test split was not used to choose. " +
            $"It beats the default {referenceName} beyond cross-validation noise: its lead is {Lead(winnerName)}, {Noise}. {board[0].Name} scored higher ({Format(board[0].Mean)}) but its lead over the default, {Lead(board[0].Name)}, could be chance.");
    }
}
