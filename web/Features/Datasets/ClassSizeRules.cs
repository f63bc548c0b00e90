namespace TransferHub.Web.Features.Datasets;

/// <summary>How many images a class needs, as the dataset page's class chart and a run's training doctor judge it (one
/// source for both).</summary>
public static class ClassSizeRules
{
    /// <summary>Fewer training images than this is too few to learn a class reliably: a rule of thumb, not a measured
    /// bound (the sets measured in docs/benchmarks.md have 30+ per class; below 10 a single odd image is a tenth of the class).</summary>
    public const int MinTrain = 10;

    /// <summary>Fewer validation (or test) images than this is too few to evaluate a class reliably.</summary>
    public const int MinEvaluate = 3;
}
