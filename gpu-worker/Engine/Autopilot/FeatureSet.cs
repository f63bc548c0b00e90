namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>
/// Cached backbone features of a job's images: one row per image per view. View 0 is the image as the transform
/// pipeline renders it; view 1 (when present) its horizontal flip. Training uses both views as rows (feature-level
/// augmentation); evaluation averages the two views' probabilities (test-time augmentation).
/// </summary>
public sealed class FeatureSet
{
    public FeatureSet(IReadOnlyList<float[]> plain, IReadOnlyList<float[]>? flipped, IReadOnlyList<int> labels, int classes)
    {
        if (plain.Count == 0) throw new ArgumentException("A feature set needs at least one image.", nameof(plain));
        if (plain.Count != labels.Count || (flipped is not null && flipped.Count != plain.Count))
            throw new ArgumentException("Each image needs one label and the same number of rows in every view.");
        Plain = plain;
        Flipped = flipped;
        Labels = labels;
        Classes = classes;
        Dim = plain[0].Length;
    }

    public IReadOnlyList<float[]> Plain { get; }
    public IReadOnlyList<float[]>? Flipped { get; }
    public IReadOnlyList<int> Labels { get; }
    public int Classes { get; }
    public int Dim { get; }
    public int Count => Plain.Count;
    public int Views => Flipped is null ? 1 : 2;

    /// <summary>The rows of <paramref name="images"/> in every view (view 0 of all images, then view 1 of all).</summary>
    public (List<float[]> Rows, List<int> Labels) TrainingRows(IReadOnlyList<int> images, bool useFlips)
    {
        var rows = new List<float[]>(images.Count * 2);
        var labels = new List<int>(images.Count * 2);
        foreach (var i in images) { rows.Add(Plain[i]); labels.Add(Labels[i]); }
        if (useFlips && Flipped is not null)
            foreach (var i in images) { rows.Add(Flipped[i]); labels.Add(Labels[i]); }
        return (rows, labels);
    }
}
