using TransferHub.Web.Components.Layout;

namespace TransferHub.Web.Tests.Layout;

/// <summary>Notifications do not follow the user to the next page (issue 14 item 11), except the one announcing the
/// action that navigated.</summary>
public sealed class SnackbarsOnNavigationTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; } = 1_000_000;

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    private sealed record Note(string Text);

    [Fact]
    public void MovingToAnotherPageClosesOlderSnackbarsAndKeepsTheOneThatAnnouncedTheMove()
    {
        var clock = new ManualClock();
        var ages = new SnackbarsOnNavigation<Note>(clock);
        var relabelled = new Note("Relabelled 3 images as cat.");
        ages.Seen([relabelled]);
        clock.Advance(TimeSpan.FromSeconds(10));
        var queued = new Note("Run queued.");
        ages.Seen([relabelled, queued]);
        clock.Advance(TimeSpan.FromMilliseconds(300));

        Assert.Equal([relabelled], ages.ToClose("datasets/4/train", "runs/17", [relabelled, queued]));
    }

    [Fact]
    public void ASnackbarNeverSeenBeforeTheMoveCountsAsNewAndIsClosedOnALaterMove()
    {
        var clock = new ManualClock();
        var ages = new SnackbarsOnNavigation<Note>(clock);
        var deleted = new Note("Dataset deleted. Undo");

        Assert.Empty(ages.ToClose("datasets/4", "projects/2", [deleted]));
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal([deleted], ages.ToClose("projects/2", "teams", [deleted]));
        Assert.Empty(ages.ToClose("teams", "projects", [])); // closed ones are forgotten
    }

    [Theory]
    [InlineData("projects/2/runs?tag=a", "projects/2/runs?tag=b")]
    [InlineData("datasets/4", "datasets/4#gallery")]
    [InlineData("datasets/4/", "datasets/4")]
    public void ChangingOnlyTheQueryStringOrFragmentStaysOnThePageAndClosesNothing(string from, string to)
    {
        var clock = new ManualClock();
        var ages = new SnackbarsOnNavigation<Note>(clock);
        var old = new Note("Tag added.");
        ages.Seen([old]);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(ages.ToClose(from, to, [old]));
    }
}
