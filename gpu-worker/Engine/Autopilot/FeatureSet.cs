namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>
/// Cached backbone features of a job's images: one row per image per view. View 0 is the image as the transform
/// pipeline renders it; view 1 (when present) its horizontal flip. Training uses both views as rows (feature-level
/// augmentation); evaluation averages the two views' probabilities (test-time augmentation).
/// </summary>
public sealed class FeatureSet
{
    /// <param name="blocks">The widths of the stages' pooled features concatenated in each row, earlier stage first
    /// (see <see cref="Backbones.Backbone.PooledStages"/>); null = one block, the whole row.</param>
    public FeatureSet(IReadOnlyList<float[]> plain, IReadOnlyList<float[]>? flipped, IReadOnlyList<int> labels, int classes,
        IReadOnlyList<int>? blocks = null)
    {
        if (plain.Count == 0) throw new ArgumentException("A feature set needs at least one image.", nameof(plain));
        if (plain.Count != labels.Count || (flipped is not null && flipped.Count != plain.Count))
            throw new ArgumentException("Each image needs one label and the same number of rows in every view.");
        Plain = plain;
        Flipped = flipped;
        Labels = labels;
        Classes = classes;
        Dim = plain[0].Length;
        Blocks = blocks ?? [Dim];
        if (Blocks.Count == 0 || Blocks.Any(b => b < 1) || Blocks.Sum() != Dim)
            throw new ArgumentException($"The blocks ({string.Join(", ", Blocks)}) must be positive and add up to the row width {Dim}.", nameof(blocks));
    }

    /// <summary>Widths of the pooled stages in each row, earlier stage first.</summary>
    public IReadOnlyList<int> Blocks { get; }

    /// <summary>Where the last <paramref name="lastStages"/> stages' features lie in a row.</summary>
    /// <exception cref="ArgumentOutOfRangeException">not 1 to <see cref="Blocks"/>.Count</exception>
    public (int Offset, int Length) StageSpan(int lastStages)
    {
        if (lastStages < 1 || lastStages > Blocks.Count)
            throw new ArgumentOutOfRangeException(nameof(lastStages), lastStages, $"This feature set holds {Blocks.Count} stage(s).");
        var length = Blocks.Skip(Blocks.Count - lastStages).Sum();
        return (Dim - length, length);
    }

    public IReadOnlyList<float[]> Plain { get; }
    public IReadOnlyList<float[]>? Flipped { get; }
    public IReadOnlyList<int> Labels { get; }
    public int Classes { get; }
    public int Dim { get; }
    public int Count => Plain.Count;
    public int Views => Flipped is null ? 1 : 2;

    /// <summary>The rows of <paramref name="images"/> in every view (view 0 of all images, then view 1 of all), cut to
    /// the last <paramref name="lastStages"/> stages' features.</summary>
    public (List<float[]> Rows, List<int> Labels) TrainingRows(IReadOnlyList<int> images, bool useFlips, int lastStages = 1)
    {
        var (offset, length) = lastStages == Blocks.Count ? (0, Dim) : StageSpan(lastStages);
        float[] Cut(float[] row) => length == Dim ? row : row.AsSpan(offset, length).ToArray();
        var rows = new List<float[]>(images.Count * 2);
        var labels = new List<int>(images.Count * 2);
        foreach (var i in images) { rows.Add(Cut(Plain[i])); labels.Add(Labels[i]); }
        if (useFlips && Flipped is not null)
            foreach (var i in images) { rows.Add(Cut(Flipped[i])); labels.Add(Labels[i]); }
        return (rows, labels);
    }
}
