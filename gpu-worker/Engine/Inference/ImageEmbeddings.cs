using TransferHub.Contracts.Duplicates;
using TransferHub.Worker.Engine.Autopilot;

namespace TransferHub.Worker.Engine.Inference;

/// <summary>How a pooled feature row becomes an embedding for near-duplicate search (the bench compares them:
/// <c>bench -- --near-duplicates</c>).</summary>
public enum EmbeddingKind
{
    /// <summary>The last stage's pooled features, L2-normalised.</summary>
    LastStage,

    /// <summary>Each pooled stage L2-normalised on its own, concatenated, divided by √stages (so the whole is a unit vector
    /// and both stages weigh alike).</summary>
    Stages,

    /// <summary><see cref="Stages"/> of the mean of the image's and its mirror image's rows: a mirrored copy gets exactly
    /// the same embedding.</summary>
    StagesMirrorInvariant,
}

/// <summary>
/// Unit-length image embeddings from a frozen backbone's pooled features (the autopilot's cached <see cref="FeatureSet"/>),
/// for near-duplicate search by cosine similarity (<see cref="SimilarityGroups"/>). Pretrained CNN features as image
/// descriptors for copy detection: Babenko et al. 2014, "Neural Codes for Image Retrieval"; their L2-normalised,
/// average-pooled convolutional features survive rescaling, re-encoding, small crops and brightness changes that
/// move pixels (and difference hashes) a lot.
/// </summary>
public static class ImageEmbeddings
{
    /// <summary>What the product sends: <see cref="EmbeddingKind.StagesMirrorInvariant"/> (measured best on Tux Paint and
    /// its altered copies: docs/benchmarks.md, "Near-duplicates").</summary>
    public const EmbeddingKind Default = EmbeddingKind.StagesMirrorInvariant;

    /// <summary>The method string of <see cref="Default"/> embeddings of a backbone at a size and resize mode: equal
    /// strings mean comparable vectors (the web caches embeddings under it).</summary>
    public static string Describe(string backbone, int size, Transforms.ResizeMode resize) =>
        $"{backbone} {size}px {resize.ToString().ToLowerInvariant()}: last two stages average-pooled, image and mirror image averaged, each stage L2-normalised (v1)";

    /// <summary>One embedding per image of <paramref name="set"/>, in its order; length = the last stage's width
    /// (<see cref="EmbeddingKind.LastStage"/>) or the row width.</summary>
    /// <exception cref="ArgumentException">a mirror-invariant kind without flipped rows</exception>
    public static IReadOnlyList<float[]> Of(FeatureSet set, EmbeddingKind kind = Default)
    {
        if (kind == EmbeddingKind.StagesMirrorInvariant && set.Flipped is null)
            throw new ArgumentException("A mirror-invariant embedding needs each image's flipped rows.", nameof(set));
        var result = new float[set.Count][];
        for (var i = 0; i < set.Count; i++)
        {
            var row = set.Plain[i];
            if (kind == EmbeddingKind.StagesMirrorInvariant)
            {
                var mean = new float[row.Length];
                var flipped = set.Flipped![i];
                for (var d = 0; d < row.Length; d++) mean[d] = 0.5f * (row[d] + flipped[d]);
                row = mean;
            }
            result[i] = kind == EmbeddingKind.LastStage
                ? SimilarityGroups.Normalized(row.AsSpan(set.StageSpan(1).Offset, set.StageSpan(1).Length))
                : PerStage(row, set.Blocks);
        }
        return result;
    }

    private static float[] PerStage(float[] row, IReadOnlyList<int> blocks)
    {
        var result = new float[row.Length];
        var scale = 1 / MathF.Sqrt(blocks.Count);
        var offset = 0;
        foreach (var width in blocks)
        {
            var unit = SimilarityGroups.Normalized(row.AsSpan(offset, width));
            for (var d = 0; d < width; d++) result[offset + d] = unit[d] * scale;
            offset += width;
        }
        return result;
    }
}
