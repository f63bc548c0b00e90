namespace TransferHub.Contracts.Jobs;

/// <summary>The split an image of a job belongs to.</summary>
public enum DataSplitKind { Train, Val, Test }

/// <summary>What a job's data allow: refusals (the run could not learn or be trusted at all) and warnings (it can run,
/// but a person must know what its numbers mean).</summary>
public sealed record TrainingDataCheck(IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings)
{
    /// <summary>The split the run's final metrics will be computed on: test when there are test images, else
    /// validation, else training images (then every accuracy is optimistic and is flagged as such).</summary>
    public required DataSplitKind EvaluatedSplit { get; init; }
}

/// <summary>
/// The one check of a job's images shared by the launch form, <c>/api/v1</c> and the worker: every class that is a
/// model output needs training images (a class seen only at test time is always predicted wrong); classes without
/// validation or test images, and data without any held-out image, are stated.
/// </summary>
public static class TrainingDataRules
{
    /// <param name="classNames">The model's outputs, in order.</param>
    /// <param name="items">Each image's class index (into <paramref name="classNames"/>) and split.</param>
    public static TrainingDataCheck Check(IReadOnlyList<string> classNames, IEnumerable<(int ClassIndex, DataSplitKind Split)> items)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        var counts = new int[classNames.Count, 3];
        var total = new int[3];
        foreach (var (classIndex, split) in items)
        {
            if (classIndex < 0 || classIndex >= classNames.Count) continue; // the caller's own check names bad indices
            counts[classIndex, (int)split]++;
            total[(int)split]++;
        }
        var problems = new List<string>();
        var warnings = new List<string>();
        if (classNames.Count < 2) problems.Add("Training needs images of at least 2 classes.");
        if (total[(int)DataSplitKind.Train] == 0)
            problems.Add("No image is in the train split: split the dataset first (Splits).");
        else
        {
            var untrained = Enumerable.Range(0, classNames.Count).Where(c => counts[c, (int)DataSplitKind.Train] == 0).ToList();
            if (untrained.Count > 0)
                problems.Add($"{Classes(classNames, untrained)} {(untrained.Count == 1 ? "has" : "have")} no training images, so the model " +
                    "could never predict " + (untrained.Count == 1 ? "it" : "them") + ": move some of " + (untrained.Count == 1 ? "its" : "their") +
                    " images to train (Splits), or delete the class.");
        }
        var heldOut = total[(int)DataSplitKind.Val] + total[(int)DataSplitKind.Test];
        if (total[(int)DataSplitKind.Train] > 0 && heldOut == 0)
            warnings.Add("No image is held out (validation or test): the run will be evaluated on its own training images, so its " +
                "accuracy is optimistic. Split the dataset to measure it honestly.");
        else if (heldOut > 0)
        {
            if (total[(int)DataSplitKind.Val] > 0)
                Missing(warnings, classNames, counts, DataSplitKind.Val, "validation", "early stopping and the best epoch ignore them");
            else
                warnings.Add("No image is in the validation split: early stopping is off and the last epoch is kept.");
            if (total[(int)DataSplitKind.Test] > 0)
                Missing(warnings, classNames, counts, DataSplitKind.Test, "test", "the test metrics say nothing about them");
            else
                warnings.Add("No image is in the test split: the run is evaluated on its validation images, which also chose its best epoch.");
        }
        var evaluated = total[(int)DataSplitKind.Test] > 0 ? DataSplitKind.Test
            : total[(int)DataSplitKind.Val] > 0 ? DataSplitKind.Val : DataSplitKind.Train;
        return new TrainingDataCheck(problems, warnings) { EvaluatedSplit = evaluated };
    }

    private static void Missing(List<string> warnings, IReadOnlyList<string> names, int[,] counts, DataSplitKind split, string word, string consequence)
    {
        var missing = Enumerable.Range(0, names.Count).Where(c => counts[c, (int)split] == 0).ToList();
        if (missing.Count > 0)
            warnings.Add($"{Classes(names, missing)} {(missing.Count == 1 ? "has" : "have")} no {word} images: {consequence}.");
    }

    private static string Classes(IReadOnlyList<string> names, List<int> indices)
    {
        var shown = indices.Take(5).Select(i => $"'{names[i]}'");
        var more = indices.Count > 5 ? $" and {indices.Count - 5} more" : "";
        return (indices.Count == 1 ? "Class " : "Classes ") + string.Join(", ", shown) + more;
    }
}
