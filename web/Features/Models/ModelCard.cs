using System.Globalization;
using System.Text;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Models;

/// <summary>What a model card says about one run (Mitchell et al. 2019, "Model Cards for Model Reporting": data,
/// training, metrics with their split, limitations, intended use, the pretrained weights' source). <paramref name="Selection"/>:
/// how an auto run chose its classifier (null for other runs).</summary>
public sealed record ModelCardFacts(
    int RunId, string ProjectName, string DatasetName, string DatasetVersion, DateTime CreatedAtUtc,
    string Backbone, string? WeightsSource, IReadOnlyList<KeyValuePair<string, string>> Settings,
    int TrainImages, int ValImages, int TestImages, RunEvaluation Evaluation, ModelSelection? Selection = null);

/// <summary>Writes a <see cref="ModelCardFacts"/> as Markdown (CommonMark + GitHub tables), the file users download
/// as <c>model-card.md</c>.</summary>
public static class ModelCard
{
    /// <summary>Classes with fewer test images than this are named under "Limitations": their scores are noise.</summary>
    public const int FewTestImages = 5;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Markdown(ModelCardFacts f)
    {
        var e = f.Evaluation;
        var split = e.Split switch { "test" => "test", "val" => "validation", "train" => "training", _ => e.Split };
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"# Model card: run #{f.RunId} · {Escape(f.Backbone)}");
        md.AppendLine();
        md.AppendLine(Invariant, $"Image classifier trained with TransferHub on {Escape(f.DatasetName)} (project {Escape(f.ProjectName)}), " +
            $"{f.CreatedAtUtc:yyyy-MM-dd} UTC.");
        md.AppendLine();
        md.AppendLine("## Intended use");
        md.AppendLine(FormattableString.Invariant($"Sorting images like those of the dataset into its {e.ClassNames.Count} classes: ") +
            string.Join(", ", e.ClassNames.Select(Escape)) + ". It always answers one of these classes, so an image of " +
            "anything else still gets one of them; check its probability before trusting an answer, and do not use it for decisions " +
            "about people.");
        md.AppendLine();
        md.AppendLine("## Data");
        md.AppendLine(Invariant, $"- Dataset version (SHA-256 of every image's hash, label and split): `{f.DatasetVersion}`");
        md.AppendLine(Invariant, $"- Images: {f.TrainImages} train, {f.ValImages} validation, {f.TestImages} test");
        md.AppendLine();
        md.AppendLine("## Training");
        md.AppendLine($"- Backbone: {Escape(f.Backbone)}, pretrained weights from: {Escape(f.WeightsSource ?? "(not reported by a worker now)")}; " +
            "their licence is the one that source publishes.");
        foreach (var (name, value) in f.Settings.Where(s => s.Key != "Backbone"))
            md.AppendLine(Invariant, $"- {name}: {Escape(value)}");
        md.AppendLine();
        if (f.Selection is { WinnerRow: { } winner } selection)
            ModelSelectionSection(md, selection, winner);
        md.AppendLine(Invariant, $"## Metrics (on the {split} split, {e.Predictions.Count} images)");
        md.AppendLine(Invariant, $"- Accuracy: {Percent(e.Accuracy)}; balanced accuracy (macro recall): {Percent(e.Macro.Recall)}; macro F1: {e.Macro.F1.ToString("0.000", Invariant)}");
        md.AppendLine(Invariant, $"- {Contracts.Metrics.ClassificationMetrics.Conventions}");
        md.AppendLine();
        md.AppendLine(Invariant, $"| class | precision | recall | F1 | {split} images |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var row in e.PerClass)
            md.AppendLine(Invariant, $"| {Escape(row.ClassName)} | {row.Precision:0.000} | {row.Recall:0.000} | {row.F1:0.000} | {row.Support} |");
        md.AppendLine();
        md.AppendLine("## Limitations");
        var limits = Limitations(f).ToList();
        foreach (var limit in limits) md.AppendLine(Invariant, $"- {limit}");
        if (limits.Count == 0) md.AppendLine("- None found by TransferHub's checks; a test set this size still leaves the true accuracy uncertain.");
        return md.ToString();
    }

    /// <summary>Auto runs: the chosen classifier, why, and the runners-up, all scored on train + val only.</summary>
    private static void ModelSelectionSection(StringBuilder md, ModelSelection selection, CandidateResult winner)
    {
        md.AppendLine("## Model selection");
        md.AppendLine(Invariant, $"The classifier on the frozen backbone's features was chosen automatically among {selection.Leaderboard.Count} " +
            $"candidates by cross-validation on the train and validation images (the test split played no part): " +
            $"**{Escape(winner.Name)}** ({Escape(winner.Params)}), cross-validated {winner.MetricName} {winner.Format(winner.CvMean)} " +
            $"(95 % interval {winner.FormatInterval()} over {winner.Folds} folds).");
        if (selection.WinnerReason is { } reason) md.AppendLine().AppendLine(Escape(reason));
        md.AppendLine();
        md.AppendLine(Invariant, $"| rank | candidate | CV {winner.MetricName} | 95 % interval | folds |");
        md.AppendLine("|---:|---|---:|---|---:|");
        foreach (var c in selection.Leaderboard)
            md.AppendLine(Invariant, $"| {c.Rank} | {Escape(c.Name)} | {c.Format(c.CvMean)} | {c.FormatInterval()} | {c.Folds} |");
        if (selection.Skipped.Count > 0)
            md.AppendLine().AppendLine(Invariant, $"{selection.Skipped.Count} candidate(s) were skipped to stay within the time budget.");
        md.AppendLine();
    }

    private static IEnumerable<string> Limitations(ModelCardFacts f)
    {
        var e = f.Evaluation;
        if (e.Split == "train")
            yield return "Evaluated on its own training images (the dataset had no held-out images): every number above is optimistic.";
        else if (e.Split == "val")
            yield return "Evaluated on the validation images, which also chose the best epoch: the numbers are somewhat optimistic.";
        var few = e.PerClass.Where(r => r.Support < FewTestImages).Select(r => $"{Escape(r.ClassName)} ({r.Support})").ToList();
        if (few.Count > 0)
            yield return $"Classes with fewer than {FewTestImages} evaluated images, whose scores say little: {string.Join(", ", few)}.";
        if (e.Accuracy - e.Macro.F1 > 0.15)
            yield return string.Create(Invariant, $"Accuracy ({Percent(e.Accuracy)}) is well above macro F1 ({e.Macro.F1:0.000}): the larger classes carry it, smaller ones are often wrong.");
        if (e.Predictions.Count < 30)
            yield return string.Create(Invariant, $"Only {e.Predictions.Count} evaluated images: one image moves accuracy by {100.0 / Math.Max(1, e.Predictions.Count):0.#} points.");
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.0", Invariant) + " %";

    /// <summary>Keeps names literal in Markdown: table pipes, emphasis and HTML characters are escaped.</summary>
    internal static string Escape(string text)
    {
        var b = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\\' or '|' or '*' or '_' or '`' or '[' or ']' or '<' or '>' or '#') b.Append('\\');
            b.Append(c is '\r' or '\n' ? ' ' : c);
        }
        return b.ToString();
    }
}
