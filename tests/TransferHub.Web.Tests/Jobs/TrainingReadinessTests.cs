using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The one computed list of what stops a dataset from training (issue 14 item 3): one most important reason,
/// with the action that fixes it, and never a consequence of that reason listed beside it.</summary>
public sealed class TrainingReadinessTests
{
    private static ClassCount Class(string name, int train = 0, int val = 0, int test = 0, int unsplit = 0) =>
        new(name.GetHashCode(), name, 0, train, val, test, unsplit);

    [Fact]
    public void AFreshlyUploadedDatasetIsOnlyNotSplitYetAndSplitNowFixesIt()
    {
        var blockers = TrainingReadiness.Of([Class("cat", unsplit: 20), Class("dog", unsplit: 20)], unlabelled: 0, testFrozen: false, canEdit: true);

        var only = Assert.Single(blockers); // not also "no training images", "needs 2 classes" or "left out"
        Assert.Equal(BlockerKind.NotSplit, only.Kind);
        Assert.Equal("The 40 labelled images are not in a split yet: a model learns from the train split and is measured on the validation and test splits.", only.Reason);
        Assert.Equal(BlockerFix.SplitAll, only.Fix);
        Assert.Equal("Split 70/15/15 now", only.ActionText);
    }

    [Fact]
    public void ASplitDatasetWithTwoClassesHasNoBlocker() =>
        Assert.Empty(TrainingReadiness.Of([Class("cat", 14, 3, 3), Class("dog", 14, 3, 3)], unlabelled: 5, testFrozen: true, canEdit: true));

    [Fact]
    public void ImagesAddedAfterASplitAreSplitOnTheirOwnAndAFrozenTestSplitGetsNone()
    {
        var only = Assert.Single(TrainingReadiness.Of([Class("cat", 14, 3, 3, unsplit: 2), Class("dog", 14, 3, 3)], 0, testFrozen: true, canEdit: true));

        Assert.Equal(BlockerKind.NotSplit, only.Kind);
        Assert.StartsWith("2 labelled images of 42 are in no split yet", only.Reason);
        Assert.Equal(BlockerFix.SplitUnsplit, only.Fix);
        Assert.Equal("Split 82/18 now (test frozen)", only.ActionText);
        var ratios = TrainingReadiness.RatiosFor(testFrozen: true);
        Assert.Equal(0, ratios.Test);
        Assert.Equal(70.0 / 85, ratios.Train, 1e-12);
    }

    [Theory]
    [InlineData(0, 0, BlockerKind.NoImages, "no images yet")]
    [InlineData(0, 7, BlockerKind.NoLabels, "None of the 7 images has a class yet")]
    [InlineData(9, 0, BlockerKind.OneClass, "only 'cat' has any (the other class has no images)")]
    public void WithoutImagesLabelsOrASecondClassTheReasonSaysWhatIsMissingAndLinksToTheDataset(int catImages, int unlabelled, BlockerKind kind, string reason)
    {
        var only = Assert.Single(TrainingReadiness.Of([Class("cat", unsplit: catImages), Class("dog")], unlabelled, testFrozen: false, canEdit: true));

        Assert.Equal(kind, only.Kind);
        Assert.Contains(reason, only.Reason);
        Assert.Equal(BlockerFix.OpenDataset, only.Fix);
    }

    [Fact]
    public void AClassWithoutTrainingImagesAfterASplitIsTheSharedRuleAndSplittingAgainFixesIt()
    {
        var only = Assert.Single(TrainingReadiness.Of([Class("up", 0, 2, 2), Class("down", 6, 2, 2)], 0, testFrozen: false, canEdit: true));

        Assert.Equal(BlockerKind.DataRule, only.Kind);
        Assert.Contains("Class 'up' has no training images", only.Reason); // TrainingDataRules' words, as the worker and API say them
        Assert.Equal(BlockerFix.SplitAll, only.Fix);
    }

    [Fact]
    public void WhenAFrozenTestSplitHoldsAllOfAClassSplittingCannotHelpSoTheDatasetIsOpened()
    {
        var only = Assert.Single(TrainingReadiness.Of([Class("up", 0, 0, 3), Class("down", 6, 2, 2)], 0, testFrozen: true, canEdit: true));

        Assert.Equal(BlockerKind.DataRule, only.Kind);
        Assert.Equal(BlockerFix.OpenDataset, only.Fix);
    }

    [Fact]
    public void AViewerIsFirstToldTheirRoleAndOfferedNoFix()
    {
        var blockers = TrainingReadiness.Of([Class("cat", unsplit: 20), Class("dog", unsplit: 20)], 0, testFrozen: false, canEdit: false);

        Assert.Equal([BlockerKind.ViewerOnly, BlockerKind.NotSplit], blockers.Select(b => b.Kind));
        Assert.All(blockers, b => Assert.Equal(BlockerFix.None, b.Fix));
        Assert.All(blockers, b => Assert.Null(b.ActionText));
        Assert.Equal(BlockerKind.ViewerOnly, Assert.Single(TrainingReadiness.Of([Class("cat", 5, 1, 1), Class("dog", 5, 1, 1)], 0, false, false)).Kind);
    }
}
