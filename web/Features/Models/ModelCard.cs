using System.Globalization;
using System.Text;
using System.Text.Json;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Models;

/// <summary>What a model card says about one run (Mitchell et al. 2019, "Model Cards for Model Reporting": data,
/// training, metrics with their split, limitations, intended use, the pretrained weights' source). <paramref name="Selection"/>:
/// how an auto run chose its classifier (null for other runs).</summary>
public sealed record ModelCardFacts(
    int RunId, string ProjectName, string DatasetName, string DatasetVersion, DateTime CreatedAtUtc,
    string Backbone, string? WeightsSource, IReadOnlyList<KeyValuePair<string, string>> Settings,
    int TrainImages, int ValImages, int TestImages, RunEvaluation Evaluation, ModelSelection? Selection = null)
{
    /// <summary>The temperature and "unknown" threshold (null for ensembles and runs trained before calibration existed).</summary>
    public CalibrationView? Calibration { get; init; }

    /// <summary>The training doctor's findings about the run, worst first (<see cref="Jobs.Doctor.TrainingDoctor"/>).</summary>
    public IReadOnlyList<Jobs.Doctor.Finding> Findings { get; init; } = [];

    /// <summary>The run's number in its project, as the run page shows it ("#3"); 0 when unknown (then the card names
    /// <see cref="RunId"/>).</summary>
    public int Number { get; init; }

    /// <summary>The run's name, if someone gave it one.</summary>
    public string? Name { get; init; }

    /// <summary>An ensemble ("Ensemble #3") rather than a single run.</summary>
    public bool IsEnsemble { get; init; }

    /// <summary>The licence the backbone's weights are used under, as the workers offering it report it (several
    /// joined by "; " for an ensemble of different backbones); null when no worker reports it now.</summary>
    public string? WeightsLicence { get; init; }
}

/// <summary>The card's content, rendered as Markdown (<c>model-card.md</c>) and as JSON (<c>model-card.json</c> inside
/// the model zip): both renderings are made from this one record, so they say the same. Text fields hold names as
/// given; each rendering formats them (Markdown escapes them).</summary>
public sealed record ModelCardContent(
    string Format,
    ModelCardContent.RunPart Run,
    string IntendedUse,
    ModelCardContent.DataPart Data,
    ModelCardContent.TrainingPart Training,
    ModelCardContent.MetricsPart Metrics,
    IReadOnlyList<string> Limitations,
    ModelSelection? ModelSelection = null,
    ModelCardContent.CalibrationPart? Calibration = null,
    IReadOnlyList<ModelCardContent.FindingPart>? TrainingDoctor = null)
{
    /// <summary>Temperature scaling (probabilities = softmax(logits / Temperature)), what it was fitted on, the ECE of the
    /// metrics' split before and after, and the "unknown" threshold (null: none) with its target precision and coverage.</summary>
    public sealed record CalibrationPart(double Temperature, string? FittedOn, string FittedOnText, double EceBefore, double EceAfter,
        double TargetPrecision, double? UnknownThreshold, double Coverage, string ThresholdMessage);

    /// <summary>One finding of the training doctor: <paramref name="Severity"/> "info", "warning" or "error";
    /// <paramref name="Numbers"/> the numbers behind <paramref name="Evidence"/> by name.</summary>
    public sealed record FindingPart(string Rule, string Severity, string Title, string Evidence, IReadOnlyDictionary<string, double> Numbers, string Advice);

    /// <param name="Id">The run's id in the API (<c>/api/v1/jobs/{id}</c>).</param>
    /// <param name="Number">Its number in the project, as the run page shows it ("#3").</param>
    /// <param name="Name">Its name, if it has one.</param>
    public sealed record RunPart(int Id, string Project, string Dataset, DateTime CreatedAtUtc, int Number = 0, string? Name = null, bool Ensemble = false);

    /// <param name="Images">train, validation and test image counts.</param>
    public sealed record DataPart(string DatasetVersion, string DatasetVersionMeaning, IReadOnlyList<string> Classes, ImageCounts Images);

    public sealed record ImageCounts(int Train, int Validation, int Test);

    /// <param name="WeightsSource">null when no worker reports the backbone now.</param>
    public sealed record TrainingPart(string Backbone, string? WeightsSource, string WeightsLicence, IReadOnlyList<Setting> Settings);

    public sealed record Setting(string Name, string Value);

    /// <param name="Split">"test", "val" or "train": the images every number below was measured on.</param>
    public sealed record MetricsPart(string Split, int Images, double Accuracy, double BalancedAccuracy, double MacroF1, string Conventions,
        IReadOnlyList<ClassScore> PerClass);
}

/// <summary>Builds a run's <see cref="ModelCardContent"/> and writes it as Markdown (CommonMark + GitHub tables) or JSON.</summary>
public static class ModelCard
{
    /// <summary>Classes with fewer test images than this are named under "Limitations": their scores are noise.</summary>
    public const int FewTestImages = 5;

    public const string Format = "transferhub-model-card/1";
    public const string JsonFileName = "model-card.json";

    private const string UnreportedLicence = "not reported by a worker now: the licence the weights' source publishes applies";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The card's content; class and dataset names pass through <paramref name="name"/> (Markdown escapes them;
    /// JSON keeps them as they are).</summary>
    public static ModelCardContent Content(ModelCardFacts f, Func<string, string>? name = null)
    {
        name ??= n => n;
        var e = f.Evaluation;
        return new ModelCardContent(
            Format,
            new ModelCardContent.RunPart(f.RunId, f.ProjectName, f.DatasetName, f.CreatedAtUtc, f.Number, f.Name, f.IsEnsemble),
            FormattableString.Invariant($"Sorting images like those of the dataset into its {e.ClassNames.Count} classes: ") +
            string.Join(", ", e.ClassNames.Select(name)) + ". It always answers one of these classes, so an image of " +
            "anything else still gets one of them" + (f.Calibration?.Rejection.Threshold is > 0 and var t
                ? FormattableString.Invariant($" unless its calibrated probability is below {t * 100:0.0} %, where TransferHub's predict answers \"unknown\" (the threshold travels in this card, not in the ONNX file)")
                : "") + "; check its probability before trusting an answer, and do not use it for decisions about people.",
            new ModelCardContent.DataPart(f.DatasetVersion, "SHA-256 of every image's hash, label and split", e.ClassNames,
                new ModelCardContent.ImageCounts(f.TrainImages, f.ValImages, f.TestImages)),
            new ModelCardContent.TrainingPart(f.Backbone, f.WeightsSource, f.WeightsLicence ?? UnreportedLicence,
                [.. f.Settings.Where(s => s.Key != "Backbone").Select(s => new ModelCardContent.Setting(s.Key, s.Value))]),
            new ModelCardContent.MetricsPart(e.Split, e.Predictions.Count, e.Accuracy, e.Macro.Recall, e.Macro.F1,
                Contracts.Metrics.ClassificationMetrics.Conventions, e.PerClass),
            [.. Limitations(f, name)],
            f.Selection,
            f.Calibration is not { } v ? null : new ModelCardContent.CalibrationPart(v.Calibration.Temperature, v.Calibration.FittedOn,
                v.Calibration.FittedOnText, v.Calibration.Before.Ece, v.Calibration.After.Ece, v.TargetPrecision, v.Rejection.Threshold,
                v.Rejection.Coverage, v.Rejection.Message),
            [.. f.Findings.Select(x => new ModelCardContent.FindingPart(x.Rule, x.Severity.ToString().ToLowerInvariant(), x.Title, x.Evidence, x.Numbers, x.Advice))]);
    }

    public static string Markdown(ModelCardFacts f) => Markdown(Content(f, Escape));

    /// <summary>The card as indented JSON (camelCase), the content of <see cref="JsonFileName"/>.</summary>
    public static string ToJson(ModelCardFacts f) => JsonSerializer.Serialize(Content(f), Json);

    public static ModelCardContent? FromJson(string json) => JsonSerializer.Deserialize<ModelCardContent>(json, Json);

    /// <summary>Markdown of content made with <see cref="Escape"/> as its name format (its sentences are ready); the
    /// fields that are names alone are escaped here.</summary>
    private static string Markdown(ModelCardContent c)
    {
        var m = c.Metrics;
        var split = m.Split switch { "test" => "test", "val" => "validation", "train" => "training", _ => m.Split };
        var md = new StringBuilder();
        var named = string.IsNullOrWhiteSpace(c.Run.Name) ? "" : $" “{Escape(c.Run.Name)}”";
        md.AppendLine(Invariant, $"# Model card: {(c.Run.Ensemble ? "Ensemble" : "Run")} #{(c.Run.Number > 0 ? c.Run.Number : c.Run.Id)}{named} · {Escape(c.Training.Backbone)}");
        md.AppendLine();
        md.AppendLine(Invariant, $"Image classifier trained with TransferHub on {Escape(c.Run.Dataset)} (project {Escape(c.Run.Project)}), " +
            $"{c.Run.CreatedAtUtc:yyyy-MM-dd} UTC.");
        md.AppendLine();
        md.AppendLine("## Intended use");
        md.AppendLine(c.IntendedUse);
        md.AppendLine();
        md.AppendLine("## Data");
        md.AppendLine(Invariant, $"- Dataset version ({c.Data.DatasetVersionMeaning}): `{c.Data.DatasetVersion}`");
        md.AppendLine(Invariant, $"- Images: {c.Data.Images.Train} train, {c.Data.Images.Validation} validation, {c.Data.Images.Test} test");
        md.AppendLine();
        md.AppendLine("## Training");
        md.AppendLine($"- Backbone: {Escape(c.Training.Backbone)}, pretrained weights from: {Escape(c.Training.WeightsSource ?? "(not reported by a worker now)")}; " +
            $"licence of the weights: {Escape(c.Training.WeightsLicence)}.");
        foreach (var setting in c.Training.Settings)
            md.AppendLine(Invariant, $"- {setting.Name}: {Escape(setting.Value)}");
        md.AppendLine();
        if (c.ModelSelection is { WinnerRow: { } winner } selection)
            ModelSelectionSection(md, selection, winner);
        md.AppendLine(Invariant, $"## Metrics (on the {split} split, {m.Images} images)");
        md.AppendLine(Invariant, $"- Accuracy: {Percent(m.Accuracy)}; balanced accuracy (macro recall): {Percent(m.BalancedAccuracy)}; macro F1: {m.MacroF1.ToString("0.000", Invariant)}");
        md.AppendLine(Invariant, $"- {m.Conventions}");
        md.AppendLine();
        md.AppendLine(Invariant, $"| class | precision | recall | F1 | {split} images |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var row in m.PerClass)
            md.AppendLine(Invariant, $"| {Escape(row.ClassName)} | {row.Precision:0.000} | {row.Recall:0.000} | {row.F1:0.000} | {row.Support} |");
        md.AppendLine();
        if (c.Calibration is { } cal)
        {
            md.AppendLine("## Calibration");
            md.AppendLine(Invariant, $"- Temperature: {cal.Temperature.ToString("0.####", Invariant)} (probabilities = softmax(logits / temperature); temperature scaling, Guo et al. 2017), fitted on {Escape(cal.FittedOnText)}; the ONNX export divides by it too.");
            md.AppendLine(Invariant, $"- Expected calibration error on the {split} split (15 bins): {Percent(cal.EceBefore)} before, {Percent(cal.EceAfter)} after.");
            md.AppendLine(Invariant, $"- \"Unknown\" threshold: {(cal.UnknownThreshold is { } t ? Percent(t) : "none")} for a target precision of {Percent(cal.TargetPrecision)}. {Escape(cal.ThresholdMessage)}");
            md.AppendLine();
        }
        md.AppendLine("## Training doctor");
        if (c.TrainingDoctor is not { Count: > 0 } findings)
            md.AppendLine("- No findings: the curves, settings and data passed TransferHub's checks.");
        else
            foreach (var finding in findings)
                md.AppendLine(Invariant, $"- **{Escape(finding.Title)}** ({finding.Severity}): {Escape(finding.Evidence)} What to do: {Escape(finding.Advice)}");
        md.AppendLine();
        md.AppendLine("## Limitations");
        foreach (var limit in c.Limitations) md.AppendLine(Invariant, $"- {limit}");
        if (c.Limitations.Count == 0) md.AppendLine("- None found by TransferHub's checks; a test set this size still leaves the true accuracy uncertain.");
        return md.ToString();
    }

    /// <summary>Auto runs: the chosen classifier, why, and the runners-up, all scored on train + val only.</summary>
    private static void ModelSelectionSection(StringBuilder md, ModelSelection selection, CandidateResult winner)
    {
        md.AppendLine("## Model selection");
        var among = selection.Leaderboard.Count == 1
            ? $"as the only candidate the time budget scored ({selection.Skipped.Count} skipped)"
            : $"among {selection.Leaderboard.Count} candidates";
        md.AppendLine(Invariant, $"The classifier on the frozen backbone's features was chosen automatically {among} " +
            $"by cross-validation on the train and validation images (the test split played no part): " +
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

    private static IEnumerable<string> Limitations(ModelCardFacts f, Func<string, string> name)
    {
        var e = f.Evaluation;
        if (e.Split == "train")
            yield return "Evaluated on its own training images (the dataset had no held-out images): every number above is optimistic.";
        else if (e.Split == "val")
            yield return "Evaluated on the validation images, which also chose the best epoch: the numbers are somewhat optimistic.";
        var few = e.PerClass.Where(r => r.Support < FewTestImages).Select(r => $"{name(r.ClassName)} ({r.Support})").ToList();
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
