using TransferHub.Contracts.Duplicates;

namespace TransferHub.Contracts.Tests.Duplicates;

/// <summary>The tiled cosine search and its grouping, against the plain all-pairs definition.</summary>
public sealed class SimilarityGroupsTests
{
    /// <summary>Positive random unit vectors (like pooled ReLU features: pairwise cosine ≈ 0.75) with near copies of some
    /// planted at random places, so groups straddle tile boundaries.</summary>
    private static List<float[]> Vectors(int count, int dim, int seed, out List<(int Original, int Copy)> planted)
    {
        var random = new Random(seed);
        var vectors = new List<float[]>();
        planted = [];
        for (var i = 0; i < count; i++)
            vectors.Add(SimilarityGroups.Normalized([.. Enumerable.Range(0, dim).Select(_ => (float)random.NextDouble())]));
        for (var p = 0; p < 12; p++)
        {
            var original = random.Next(count);
            var copy = SimilarityGroups.Normalized([.. vectors[original].Select(x => x + 0.02f * (float)random.NextDouble())]);
            var at = random.Next(vectors.Count + 1);
            vectors.Insert(at, copy);
            for (var k = 0; k < planted.Count; k++)
                planted[k] = (planted[k].Original >= at ? planted[k].Original + 1 : planted[k].Original, planted[k].Copy >= at ? planted[k].Copy + 1 : planted[k].Copy);
            planted.Add((original >= at ? original + 1 : original, at));
        }
        return vectors;
    }

    /// <summary>Connected components of "cosine ≥ threshold", computed pair by pair in double precision.</summary>
    private static List<List<int>> Naive(IReadOnlyList<float[]> v, double threshold)
    {
        var parent = Enumerable.Range(0, v.Count).ToArray();
        int Root(int x) => parent[x] == x ? x : parent[x] = Root(parent[x]);
        var joined = new bool[v.Count];
        for (var a = 0; a < v.Count; a++)
            for (var b = a + 1; b < v.Count; b++)
                if (v[a].Zip(v[b], (x, y) => (double)x * y).Sum() >= threshold)
                {
                    parent[Root(b)] = Root(a);
                    joined[a] = joined[b] = true;
                }
        return [.. Enumerable.Range(0, v.Count).Where(i => joined[i]).GroupBy(Root).Select(g => g.Order().ToList()).OrderBy(g => g[0])];
    }

    [Fact]
    public void TheTiledSearchFindsExactlyTheGroupsOfAllPairsAcrossTileBoundaries()
    {
        var vectors = Vectors(300, 100, seed: 5, out var planted);

        var groups = SimilarityGroups.Find(vectors, 0.99);

        Assert.Equal(Naive(vectors, 0.99), groups.Select(g => g.Select(m => m.Index).ToList()).ToList());
        foreach (var (original, copy) in planted)
            Assert.Contains(groups, g => g.Any(m => m.Index == original) && g.Any(m => m.Index == copy));
        Assert.Contains(planted, p => p.Original / SimilarityGroups.Tile != p.Copy / SimilarityGroups.Tile);
        // Each member's closest similarity is that of its best partner.
        foreach (var member in groups.SelectMany(g => g))
            Assert.InRange(member.Closest, 0.99f, 1.0001f);
    }

    [Fact]
    public void APairMarkedDistinctIsNotJoinedButAThirdImageSimilarToBothStillJoinsThem()
    {
        float[] V(params float[] x) => SimilarityGroups.Normalized(x);
        var vectors = new List<float[]> { V(1, 0, 0), V(1, 0.01f, 0), V(1, 0.02f, 0), V(0, 0, 1) };

        Assert.Equal([[0, 1, 2]], SimilarityGroups.Find(vectors, 0.99).Select(g => g.Select(m => m.Index).ToList()));
        var apart = SimilarityGroups.Find(vectors, 0.99, distinct: (a, b) => a == 0);
        Assert.Equal([[1, 2]], apart.Select(g => g.Select(m => m.Index).ToList()));
        var chained = SimilarityGroups.Find(vectors, 0.99, distinct: (a, b) => (a, b) == (0, 2));
        Assert.Equal([[0, 1, 2]], chained.Select(g => g.Select(m => m.Index).ToList()));
    }

    [Fact]
    public void BadInputIsRefusedWithTheReason()
    {
        Assert.Contains("(0, 1]", Assert.Throws<ArgumentException>(() => SimilarityGroups.Find([[1f], [1f]], 0)).Message);
        Assert.Contains("(0, 1]", Assert.Throws<ArgumentException>(() => SimilarityGroups.Find([[1f], [1f]], 1.5)).Message);
        Assert.Contains("Row 1 has 1 values; row 0 has 2", Assert.Throws<ArgumentException>(() => SimilarityGroups.Find([[1f, 0f], [1f]], 0.9)).Message);
        Assert.Empty(SimilarityGroups.Find([[1f]], 0.9));
    }

    [Fact]
    public void DotMatchesTheScalarSumForEveryLength()
    {
        var random = new Random(1);
        foreach (var length in new[] { 1, 7, 8, 15, 16, 17, 33, 768 })
        {
            var a = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var b = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            Assert.Equal(a.Zip(b, (x, y) => (double)x * y).Sum(), SimilarityGroups.Dot(a, b), 4);
        }
    }
}
