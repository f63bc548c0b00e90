using TransferHub.Contracts.Jobs;

namespace TransferHub.Contracts.Tests.Jobs;

/// <summary>What a job's images allow: the checks behind "a launch that cannot be trusted is refused or flagged".</summary>
public sealed class TrainingDataRulesTests
{
    private static IEnumerable<(int, DataSplitKind)> Images(int classIndex, DataSplitKind split, int count) =>
        Enumerable.Repeat((classIndex, split), count);

    [Fact]
    public void AClassWithoutTrainingImagesIsRefusedByName()
    {
        // shared/cases class-without-train-images.zip: 'up' only in test/, 'down' with one training image.
        var check = TrainingDataRules.Check(["down", "up"],
            [.. Images(0, DataSplitKind.Train, 1), .. Images(0, DataSplitKind.Test, 2), .. Images(1, DataSplitKind.Test, 3)]);

        var problem = Assert.Single(check.Problems);
        Assert.Contains("'up' has no training images", problem);
        Assert.DoesNotContain("'down'", problem);
    }

    [Fact]
    public void DataWithoutHeldOutImagesIsEvaluatedOnTrainingImagesAndSaysSo()
    {
        // shared/cases train-split-only.zip
        var check = TrainingDataRules.Check(["a", "b"], [.. Images(0, DataSplitKind.Train, 4), .. Images(1, DataSplitKind.Train, 4)]);

        Assert.Empty(check.Problems);
        Assert.Equal(DataSplitKind.Train, check.EvaluatedSplit);
        Assert.Contains(check.Warnings, w => w.Contains("evaluated on its own training images"));
    }

    [Fact]
    public void ClassesWithoutValidationOrTestImagesAreNamed()
    {
        var check = TrainingDataRules.Check(["a", "b", "c"], [.. Images(0, DataSplitKind.Train, 4), .. Images(1, DataSplitKind.Train, 4),
            .. Images(2, DataSplitKind.Train, 4), .. Images(0, DataSplitKind.Val, 1), .. Images(1, DataSplitKind.Test, 1), .. Images(2, DataSplitKind.Test, 1)]);

        Assert.Empty(check.Problems);
        Assert.Equal(DataSplitKind.Test, check.EvaluatedSplit);
        Assert.Contains(check.Warnings, w => w.StartsWith("Classes 'b', 'c' have no validation images", StringComparison.Ordinal));
        Assert.Contains(check.Warnings, w => w.StartsWith("Class 'a' has no test images", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutTestImagesTheValidationSplitIsEvaluated()
    {
        var check = TrainingDataRules.Check(["a", "b"], [.. Images(0, DataSplitKind.Train, 2), .. Images(1, DataSplitKind.Train, 2),
            .. Images(0, DataSplitKind.Val, 1), .. Images(1, DataSplitKind.Val, 1)]);

        Assert.Equal(DataSplitKind.Val, check.EvaluatedSplit);
        Assert.Contains(check.Warnings, w => w.StartsWith("No image is in the test split", StringComparison.Ordinal));
    }

    [Fact]
    public void AWellSplitDatasetHasNeitherProblemsNorWarnings()
    {
        var items = Enumerable.Range(0, 2).SelectMany(c => Images(c, DataSplitKind.Train, 6).Concat(Images(c, DataSplitKind.Val, 2))
            .Concat(Images(c, DataSplitKind.Test, 2))).ToList();

        var check = TrainingDataRules.Check(["a", "b"], items);

        Assert.Empty(check.Problems);
        Assert.Empty(check.Warnings);
    }
}
