using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Duplicates;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>On 28 px Fashion-MNIST the default similarity joined every trouser into one 41-image group with a
/// "Keep only this" button (browser walk-through): a search whose groups are that large warns before anyone removes
/// images.</summary>
public sealed class CrowdedDuplicateGroupsTests
{
    private static DuplicateGroup Group(int size, int first = 0) => new([.. Enumerable.Range(first, size)
        .Select(i => new DuplicateMember(i, $"{i:x64}", $"{i}.png", "trouser", i % 2 == 0 ? DatasetSplit.Train : DatasetSplit.Test, 0.95))]);

    private static DuplicateSearch Search(int images, DuplicateMethod method, params DuplicateGroup[] groups) =>
        new(groups, method, 0.92, "", images, 0, images, 0, 0.1);

    [Fact]
    public void AGroupOfMoreThanTenImagesWarnsAndSaysWhatToDo()
    {
        var warning = DuplicatesPanel.TooManyGrouped(Search(1_000, DuplicateMethod.Embeddings, Group(DuplicatesPanel.CrowdedGroup + 1), Group(2, 100)));

        Assert.NotNull(warning);
        Assert.StartsWith("13 of 1,000 images are in groups, the largest of 11", warning);
        Assert.Contains("Raise the similarity", warning);
    }

    [Fact]
    public void AFifthOfTheDatasetInSmallGroupsWarnsToo()
    {
        var pairs = Enumerable.Range(0, 10).Select(g => Group(2, 10 * g)).ToArray(); // 20 of 100 images

        Assert.NotNull(DuplicatesPanel.TooManyGrouped(Search(100, DuplicateMethod.Embeddings, pairs)));
        Assert.Null(DuplicatesPanel.TooManyGrouped(Search(101, DuplicateMethod.Embeddings, pairs)));
    }

    [Fact]
    public void TenCopiesOfOnePictureOrAFewPairsDoNotWarnNorDoesTheHashFallback()
    {
        Assert.Null(DuplicatesPanel.TooManyGrouped(Search(300, DuplicateMethod.Embeddings, Group(DuplicatesPanel.CrowdedGroup), Group(2, 50))));
        Assert.Null(DuplicatesPanel.TooManyGrouped(Search(300, DuplicateMethod.Embeddings)));
        Assert.Null(DuplicatesPanel.TooManyGrouped(Search(10, DuplicateMethod.DifferenceHash, Group(5))));
    }
}
