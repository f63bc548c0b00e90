using TransferHub.Contracts.Jobs;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Features.Jobs;

/// <summary>Why a dataset cannot train yet, in the order a person has to deal with them.</summary>
public enum BlockerKind
{
    /// <summary>The caller is a viewer: whatever the data, they cannot launch.</summary>
    ViewerOnly,
    /// <summary>No image at all.</summary>
    NoImages,
    /// <summary>Images, but none with a class.</summary>
    NoLabels,
    /// <summary>Labelled images of fewer than two classes.</summary>
    OneClass,
    /// <summary>Labelled images in no split (all of them, or some added after a split).</summary>
    NotSplit,
    /// <summary>Everything is split, but <see cref="TrainingDataRules"/> refuses (no training images, a class without any).</summary>
    DataRule,
}

/// <summary>What fixes a blocker, offered beside it.</summary>
public enum BlockerFix
{
    /// <summary>Nothing the caller can do here (a viewer).</summary>
    None,
    /// <summary>Upload, label or curate on the dataset page.</summary>
    OpenDataset,
    /// <summary>Split the images that are in no split yet, by <see cref="TrainingReadiness.DefaultRatios"/> (a frozen test
    /// split gains nothing).</summary>
    SplitUnsplit,
    /// <summary>Split every labelled image again by <see cref="TrainingReadiness.DefaultRatios"/> (a frozen test split stays).</summary>
    SplitAll,
}

/// <summary>One reason a dataset cannot train, with the action that removes it.</summary>
/// <param name="Reason">One or two sentences for the user: what is wrong and why it matters.</param>
/// <param name="ActionText">The fix's button text ("Split 70/15/15 now"), null with <see cref="BlockerFix.None"/>.</param>
public sealed record LaunchBlocker(BlockerKind Kind, string Reason, BlockerFix Fix, string? ActionText);

/// <summary>
/// The one computed list of what stops a dataset from training, most important first: the launch form, the dataset
/// page and the launch's server-side refusal all read it, so they cannot contradict each other. Each blocker hides the
/// ones it causes: an unsplit dataset is "not split yet", not also "0 training images" and "class X has no training
/// images". Pure: it reads counts, never the database.
/// </summary>
public static class TrainingReadiness
{
    /// <summary>The ratios "Split now" uses (the dataset page's default): 70 % train, 15 % validation, 15 % test per class.</summary>
    public static readonly Datasets.Splits.SplitRatios DefaultRatios = Datasets.Splits.SplitRatios.Default;

    /// <summary>The blockers of a dataset, most important first (empty: it can train).</summary>
    /// <param name="classes">Every class with its images per split, in model output order (ordinal); classes without images are
    /// not model outputs and are ignored.</param>
    /// <param name="unlabelled">Images without a class (left out of every run; not a blocker on their own).</param>
    /// <param name="testFrozen">Whether the test split is frozen ("Split now" then divides only train and validation).</param>
    /// <param name="canEdit">Whether the caller may launch and fix (editor or owner); a viewer's first blocker is their role.</param>
    public static IReadOnlyList<LaunchBlocker> Of(IReadOnlyList<ClassCount> classes, int unlabelled, bool testFrozen, bool canEdit)
    {
        ArgumentNullException.ThrowIfNull(classes);
        var blockers = new List<LaunchBlocker>();
        if (!canEdit)
            blockers.Add(new(BlockerKind.ViewerOnly, "As a viewer you can look at settings but not launch runs: an editor or owner of the team can.",
                BlockerFix.None, null));
        var data = DataBlocker(classes, unlabelled, testFrozen);
        if (data is not null)
            blockers.Add(canEdit ? data : data with { Fix = BlockerFix.None, ActionText = null });
        return blockers;
    }

    /// <summary>The button text of a split fix: "Split 70/15/15 now", or "Split 82/18 now (test frozen)".</summary>
    public static string SplitActionText(bool testFrozen)
    {
        var r = DefaultRatios;
        if (!testFrozen) return $"Split {Percent(r.Train)}/{Percent(r.Val)}/{Percent(r.Test)} now";
        var train = Percent(r.Train / (r.Train + r.Val));
        return $"Split {train}/{100 - train} now (test frozen)";
    }

    /// <summary>The ratios a split fix applies: <see cref="DefaultRatios"/>, or train : validation alone when the test split is frozen.</summary>
    public static Datasets.Splits.SplitRatios RatiosFor(bool testFrozen) => testFrozen
        ? new(DefaultRatios.Train / (DefaultRatios.Train + DefaultRatios.Val), DefaultRatios.Val / (DefaultRatios.Train + DefaultRatios.Val), 0)
        : DefaultRatios;

    private static LaunchBlocker? DataBlocker(IReadOnlyList<ClassCount> classes, int unlabelled, bool testFrozen)
    {
        var used = classes.Where(c => c.Total > 0).ToList();
        var labelled = used.Sum(c => c.Total);
        if (labelled == 0)
            return unlabelled == 0
                ? new(BlockerKind.NoImages, "This dataset has no images yet: upload a zip with one folder per class.", BlockerFix.OpenDataset, "Upload images")
                : new(BlockerKind.NoLabels, $"None of the {Count(unlabelled, "image")} has a class yet: label them in the gallery, or upload a zip with one folder per class.",
                    BlockerFix.OpenDataset, "Label images");
        if (used.Count < 2)
            return new(BlockerKind.OneClass, $"Training needs labelled images of at least 2 classes; only '{used[0].Name}' has any" +
                (classes.Count > 1 ? $" (the other {(classes.Count == 2 ? "class has" : $"{classes.Count - 1} classes have")} no images)." : "."),
                BlockerFix.OpenDataset, "Add another class");
        var unsplit = used.Sum(c => c.Unassigned);
        if (unsplit > 0)
            return new(BlockerKind.NotSplit, unsplit == labelled
                    ? $"The {Count(labelled, "labelled image")} {(labelled == 1 ? "is" : "are")} not in a split yet: a model learns from the train split and is measured on the validation and test splits."
                    : $"{Count(unsplit, "labelled image")} of {labelled} {(unsplit == 1 ? "is" : "are")} in no split yet (added after the last split), so a run would leave {(unsplit == 1 ? "it" : "them")} out.",
                unsplit == labelled ? BlockerFix.SplitAll : BlockerFix.SplitUnsplit, SplitActionText(testFrozen));
        var check = TrainingDataRules.Check([.. used.Select(c => c.Name)], Items(used));
        if (check.Problems.Count == 0) return null;
        // Splitting again fixes a split without training images, unless a frozen test split holds them.
        var resplitHelps = !testFrozen || used.All(c => c.Train + c.Val > 0);
        return new(BlockerKind.DataRule, string.Join(" ", check.Problems),
            resplitHelps ? BlockerFix.SplitAll : BlockerFix.OpenDataset, resplitHelps ? SplitActionText(testFrozen) : "Open the dataset");
    }

    private static IEnumerable<(int, DataSplitKind)> Items(List<ClassCount> used)
    {
        for (var i = 0; i < used.Count; i++)
        {
            for (var n = 0; n < used[i].Train; n++) yield return (i, DataSplitKind.Train);
            for (var n = 0; n < used[i].Val; n++) yield return (i, DataSplitKind.Val);
            for (var n = 0; n < used[i].Test; n++) yield return (i, DataSplitKind.Test);
        }
    }

    private static int Percent(double fraction) => (int)Math.Round(fraction * 100, MidpointRounding.AwayFromZero);

    private static string Count(int n, string noun) => $"{n:N0} {noun}{(n == 1 ? "" : "s")}";
}
