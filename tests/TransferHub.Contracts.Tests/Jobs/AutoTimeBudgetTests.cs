using TransferHub.Contracts.Jobs;

namespace TransferHub.Contracts.Tests.Jobs;

/// <summary>Auto mode's default time budget: 60 s on a worker as fast as the 2-core CPU it was measured on, more on
/// a slower one so that the same work fits (issue 11: "default 60 s on a CPU worker; scale with the worker's measured
/// throughput").</summary>
public sealed class AutoTimeBudgetTests
{
    [Theory]
    [InlineData(null, 60)]                  // no worker has measured yet
    [InlineData(0.0, 60)]
    [InlineData(double.NaN, 60)]
    [InlineData(double.PositiveInfinity, 60)]
    [InlineData(50.0, 60)]                  // the reference itself
    [InlineData(2000.0, 60)]                // a GPU: the budget is a ceiling, never cut below 60 s
    [InlineData(25.0, 120)]                 // half as fast: twice the time
    [InlineData(19.0, 160)]                 // 60 × 50 / 19 = 157.9, rounded up to 10 s
    [InlineData(49.9, 70)]                  // 60.1 s rounds up to 70
    [InlineData(0.5, 3600)]                 // 6,000 s would exceed the most a run may ask for
    public void TheDefaultScalesWithTheSlowestWorkersFeatureThroughput(double? passesPerSecond, int expected) =>
        Assert.Equal(expected, JobDefaults.AutoTimeBudgetFor(passesPerSecond));

    [Fact]
    public void EveryScaledDefaultIsABudgetTheJobRulesAccept()
    {
        foreach (var rate in new[] { 0.01, 0.5, 1, 3, 7.7, 19, 33, 49.99, 50, 1e6 })
            Assert.Empty(JobRules.CheckTimeBudget(JobDefaults.AutoTimeBudgetFor(rate)));
    }
}
