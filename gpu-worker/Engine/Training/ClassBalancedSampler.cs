using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Training;

/// <summary>
/// Class-balanced sampling: an epoch of as many draws as there are training images, with replacement, each draw a
/// class chosen uniformly among the classes that have training images and then one of that class's images uniformly,
/// so image i is drawn with probability ∝ 1 / n_{class(i)} and every class about equally often. Rare classes' images
/// recur within an epoch; frequent classes' images are partly left out. The draws depend only on the seed and the
/// epoch (like <see cref="Shuffle.Order"/>, from which this stream is kept apart).
/// </summary>
internal static class ClassBalancedSampler
{
    /// <summary>Indexes into <paramref name="train"/> for one epoch, in training order.</summary>
    public static int[] Order(IReadOnlyList<DatasetEntry> train, long seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(train);
        var byClass = Enumerable.Range(0, train.Count).GroupBy(i => train[i].ClassIndex).OrderBy(g => g.Key)
            .Select(g => g.ToArray()).ToArray();
        var random = new Random(unchecked((int)TransformPipeline.SampleSeed(seed, epoch, -2)));
        var order = new int[train.Count];
        for (var d = 0; d < order.Length; d++)
        {
            var members = byClass[random.Next(byClass.Length)];
            order[d] = members[random.Next(members.Length)];
        }
        return order;
    }

    /// <summary>The epoch's order under <paramref name="spec"/>: class-balanced draws, or each image once in a seeded shuffle.</summary>
    public static int[] EpochOrder(TrainingSpec spec, IReadOnlyList<DatasetEntry> train, int epoch) => spec.BalancedSampling
        ? Order(train, spec.Seed, epoch)
        : Shuffle.Order(train.Count, spec.Seed, epoch);
}
