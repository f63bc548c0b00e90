using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Duplicates;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>The order near-duplicate groups are listed in: what to fix first comes first.</summary>
public sealed class DuplicateGroupOrderTests
{
    private static DuplicateGroup Group(long firstId, double closest, params DatasetSplit[] splits) =>
        new([.. splits.Select((split, i) => new DuplicateMember(firstId + i, $"{firstId + i:x64}", $"img{firstId + i}.png", "c", split, closest))]);

    [Fact]
    public void LeaksComeFirstAndAmongThemTheClosestPairBeforeALargerGroupOfLookAlikes()
    {
        // The walk-through's case at threshold 0.90: five different fruits across splits were listed before a real copy.
        var fruits = Group(1, 0.905, DatasetSplit.Train, DatasetSplit.Train, DatasetSplit.Test, DatasetSplit.Val, DatasetSplit.Train);
        var copy = Group(10, 0.962, DatasetSplit.Train, DatasetSplit.Test);
        var sameSplit = Group(20, 0.99, DatasetSplit.Train, DatasetSplit.Train);
        var sameSplitLarger = Group(30, 0.93, DatasetSplit.Train, DatasetSplit.Train, DatasetSplit.Train);

        var ordered = DuplicateGroup.Ordered([sameSplitLarger, fruits, sameSplit, copy]);

        Assert.Equal([copy, fruits, sameSplit, sameSplitLarger], ordered);
    }
}
