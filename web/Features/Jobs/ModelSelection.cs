using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TransferHub.Web.Features.Jobs;

/// <summary>One classifier an Auto run scored by cross-validation on train + val (never test).</summary>
/// <param name="Name">The worker's name for it, e.g. "logreg-std-C0.1" or "nearest-class-mean".</param>
/// <param name="Params">Its settings as the worker wrote them ("preprocessing=standardise C=0.1 …").</param>
/// <param name="Metric">What it is ranked on: "accuracy", or "macro_f1" when the classes are imbalanced.</param>
/// <param name="CvMean">Mean of the fold scores of <paramref name="Metric"/>, with its 95 % t-interval
/// <paramref name="CiLow"/>–<paramref name="CiHigh"/> (a guide: folds are not independent).</param>
/// <param name="MacroF1">Mean macro-F1 over the same folds.</param>
/// <param name="Folds">Folds scored (k × repetitions).</param>
/// <param name="Seconds">Time spent on its folds.</param>
/// <param name="Rank">1-based place in the final leaderboard; 0 while the run is still choosing.</param>
public sealed record CandidateResult(string Name, string Params, string Metric, double CvMean, double CiLow, double CiHigh, double MacroF1,
    int Folds, double Seconds, int Rank)
{
    /// <summary><see cref="Metric"/> for people: "accuracy" or "macro F1".</summary>
    [JsonIgnore]
    public string MetricName => Metric == "macro_f1" ? "macro F1" : Metric;

    /// <summary>A score of <see cref="Metric"/> as the rest of the product writes it: accuracy in percent, macro F1 with
    /// three decimals.</summary>
    public string Format(double score) => Metric == "macro_f1" ? score.ToString("0.000", CultureInfo.InvariantCulture) : score.ToString("P1", CultureInfo.InvariantCulture);

    /// <summary>The 95 % interval for people, "low – high": the t-interval is symmetric around the mean, so near a
    /// perfect score it passes 1; a score cannot, so the bounds shown are clipped to [0, 1] (the stored ones are not).</summary>
    public string FormatInterval() => $"{Format(Math.Clamp(CiLow, 0, 1))} – {Format(Math.Clamp(CiHigh, 0, 1))}";
}

/// <summary>
/// How an Auto run chose its classifier: the leaderboard (best first), the winner and why, and the candidates the time
/// budget left out. Stored with the run as JSON (<c>TrainingJob.LeaderboardJson</c>): while the run chooses, each
/// scored candidate is merged in (<see cref="WithScored"/>, unranked, a later score of the same candidate replacing
/// the earlier one); the worker's final ranking replaces it all when the run completes.
/// </summary>
public sealed record ModelSelection(IReadOnlyList<CandidateResult> Leaderboard, string? Winner, string? WinnerReason, IReadOnlyList<string> Skipped)
{
    // A score that is not a number (a worker's bug) is kept as "NaN" rather than failing the run's event.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static readonly ModelSelection Empty = new([], null, null, []);

    /// <summary>The final ranking is in (the run finished choosing).</summary>
    [JsonIgnore]
    public bool IsFinal => Winner is not null;

    /// <summary>The winner's row, once there is one.</summary>
    [JsonIgnore]
    public CandidateResult? WinnerRow => Winner is null ? null : Leaderboard.FirstOrDefault(c => c.Name == Winner);

    /// <summary>While choosing: <paramref name="scored"/> joins the board (replacing an earlier score of the same
    /// candidate: scores are cumulative over the repetitions of cross-validation), best mean first.</summary>
    public ModelSelection WithScored(CandidateResult scored) => this with
    {
        Leaderboard = [.. Leaderboard.Where(c => c.Name != scored.Name).Append(scored with { Rank = 0 })
            .OrderByDescending(c => c.CvMean).ThenByDescending(c => c.MacroF1)],
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The stored selection; null when the run has none (not an Auto run, or nothing scored yet).</summary>
    public static ModelSelection? FromJson(string? json) => json is null ? null : JsonSerializer.Deserialize<ModelSelection>(json, Json);
}
