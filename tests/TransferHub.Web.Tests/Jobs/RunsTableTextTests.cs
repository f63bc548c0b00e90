using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>QA 2026-11-30: at 1280 px the Runs table cut its Created column ("30 No"); the date is now as short as it can be.</summary>
public sealed class RunsTableTextTests
{
    private static readonly DateTime Now = new(2026, 11, 30, 15, 0, 0);

    [Theory]
    [InlineData("2026-11-30T01:04:00", "01:04")]
    [InlineData("2026-11-29T23:59:00", "29 Nov")]
    [InlineData("2026-01-02T08:00:00", "2 Jan")]
    [InlineData("2025-12-31T08:00:00", "31 Dec 2025")]
    public void CreatedShowsTheTimeTodayTheDayThisYearAndTheYearBefore(string created, string shown) =>
        Assert.Equal(shown, RunsPage.CreatedText(DateTime.Parse(created, System.Globalization.CultureInfo.InvariantCulture), Now));
}
