using System.Numerics;
using System.Runtime.InteropServices;

namespace TransferHub.Contracts.Duplicates;

/// <summary>One member of a near-duplicate group: its index into the searched vectors and its highest cosine similarity
/// to another member it was joined with (in [threshold, 1]).</summary>
public readonly record struct GroupMember(int Index, float Closest);

/// <summary>
/// Near-duplicate groups by cosine similarity of image embeddings: every pair whose similarity reaches the threshold
/// is joined (union-find with path halving), so a group is a connected component of the "similar" graph (single
/// linkage). Pairs the caller marked as distinct ("not duplicates") are never joined, but their members may still meet
/// through a third image similar to both.
/// </summary>
/// <remarks>
/// The N·(N−1)/2 dot products are computed in square tiles of <see cref="Tile"/> rows (both tiles stay in the L2 cache;
/// 768 floats · 64 rows = 192 KiB), each dot product a SIMD loop (<see cref="Vector{T}"/>), the tile rows spread over the
/// cores. Cost: N²/2 · D multiply-adds — 3.8·10¹⁰ for N = 10,000, D = 768 (docs/benchmarks.md, "Near-duplicates").
/// Memory: the N × D vectors plus the pairs found.
/// </remarks>
public static class SimilarityGroups
{
    /// <summary>The cosine similarity two images' embeddings (worker.proto EmbedImages) need by default to count as the
    /// same picture. Measured on Tux Paint's 286 photos and 8 altered copies of each (docs/benchmarks.md,
    /// "Near-duplicates"; ADR 026): at 0.92 no group mixes classes, 99.2 % of the copies join their original, and the
    /// photos alone form 6 groups, 4 of them true copies (3 mirrored stamps, a recoloured shirt); 0.90 finds 99.8 % but
    /// groups 15 (look-alike deer, citrus, birds), 0.94 finds 97.1 %.</summary>
    public const double DefaultThreshold = 0.92;

    /// <summary>Rows per tile.</summary>
    public const int Tile = 64;

    /// <summary>A search that finds more pairs than this stops: the threshold is far too low for "the same picture".</summary>
    public const int MaxPairs = 5_000_000;

    /// <summary>Groups of at least two vectors whose cosine similarity reaches <paramref name="threshold"/>, each listed in
    /// ascending index order, groups ordered by their first index.</summary>
    /// <param name="vectors">N rows of equal length D, each L2-normalised (‖v‖ = 1, so the dot product is the cosine).
    /// A zero row (an image that could not be embedded) joins nothing.</param>
    /// <param name="threshold">Cosine similarity in (0, 1].</param>
    /// <param name="distinct">Whether the pair (a, b), a &lt; b, was marked "not duplicates"; null = none was.</param>
    /// <param name="progress">Rows compared so far, of N.</param>
    /// <exception cref="ArgumentException">rows of different lengths, or a threshold outside (0, 1]</exception>
    /// <exception cref="InvalidOperationException">more than <see cref="MaxPairs"/> similar pairs</exception>
    public static IReadOnlyList<IReadOnlyList<GroupMember>> Find(IReadOnlyList<float[]> vectors, double threshold,
        Func<int, int, bool>? distinct = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (threshold is <= 0 or > 1 || double.IsNaN(threshold))
            throw new ArgumentException($"The threshold is a cosine similarity in (0, 1]; got {threshold}.", nameof(threshold));
        var n = vectors.Count;
        if (n < 2) return [];
        var dim = vectors[0].Length;
        var packed = new float[(long)n * dim];
        for (var i = 0; i < n; i++)
        {
            if (vectors[i].Length != dim)
                throw new ArgumentException($"Row {i} has {vectors[i].Length} values; row 0 has {dim}.", nameof(vectors));
            vectors[i].CopyTo(packed, (long)i * dim);
        }
        var pairs = Pairs(packed, n, dim, (float)threshold, progress, cancellationToken);

        var parent = Enumerable.Range(0, n).ToArray();
        int Root(int x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]];
            return x;
        }
        var closest = new float[n];
        foreach (var (a, b, similarity) in pairs)
        {
            if (distinct?.Invoke(a, b) == true) continue;
            closest[a] = Math.Max(closest[a], similarity);
            closest[b] = Math.Max(closest[b], similarity);
            var (ra, rb) = (Root(a), Root(b));
            if (ra != rb) parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
        var groups = new Dictionary<int, List<GroupMember>>();
        for (var i = 0; i < n; i++)
        {
            if (closest[i] == 0) continue;
            var root = Root(i);
            (groups.TryGetValue(root, out var list) ? list : groups[root] = []).Add(new GroupMember(i, Math.Min(closest[i], 1f)));
        }
        return [.. groups.Values.Where(g => g.Count > 1).OrderBy(g => g[0].Index)];
    }

    /// <summary>Every pair (a &lt; b) with a·b ≥ threshold, tile by tile.</summary>
    internal static List<(int A, int B, float Similarity)> Pairs(float[] packed, int n, int dim, float threshold, IProgress<int>? progress,
        CancellationToken cancellationToken)
    {
        var tiles = (n + Tile - 1) / Tile;
        var found = new List<(int, int, float)>[tiles];
        var done = 0;
        var total = 0L;
        Parallel.For(0, tiles, new ParallelOptions { CancellationToken = cancellationToken }, ti =>
        {
            var local = new List<(int, int, float)>();
            var rowStart = ti * Tile;
            var rowEnd = Math.Min(n, rowStart + Tile);
            for (var tj = ti; tj < tiles; tj++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var colStart = tj * Tile;
                var colEnd = Math.Min(n, colStart + Tile);
                for (var a = rowStart; a < rowEnd; a++)
                {
                    var va = packed.AsSpan(a * dim, dim);
                    for (var b = Math.Max(colStart, a + 1); b < colEnd; b++)
                    {
                        var similarity = Dot(va, packed.AsSpan(b * dim, dim));
                        if (similarity >= threshold) local.Add((a, b, similarity));
                    }
                }
            }
            found[ti] = local;
            if (Interlocked.Add(ref total, local.Count) > MaxPairs)
                throw new InvalidOperationException($"More than {MaxPairs:N0} pairs reach the similarity {threshold}: choose a higher threshold.");
            progress?.Report(Math.Min(n, Interlocked.Increment(ref done) * Tile));
        });
        return [.. found.SelectMany(f => f)];
    }

    /// <summary>a · b, two accumulators of <see cref="Vector{T}"/> width, then the tail.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var width = Vector<float>.Count;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var s0 = Vector<float>.Zero;
        var s1 = Vector<float>.Zero;
        var i = 0;
        for (; i + 1 < va.Length; i += 2)
        {
            s0 += va[i] * vb[i];
            s1 += va[i + 1] * vb[i + 1];
        }
        if (i < va.Length) s0 += va[i] * vb[i];
        var sum = Vector.Sum(s0 + s1);
        for (var k = va.Length * width; k < a.Length; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>The row divided by its L2 norm (a zero row stays zero).</summary>
    public static float[] Normalized(ReadOnlySpan<float> row)
    {
        var norm = MathF.Sqrt(Dot(row, row));
        var result = row.ToArray();
        if (norm > 0)
            for (var i = 0; i < result.Length; i++) result[i] /= norm;
        return result;
    }
}
