using TransferHub.Web.Components.Layout;

namespace TransferHub.Web.Tests.Layout;

/// <summary>Notifications do not follow the user to the next page (issue 14 item 11; QA 2026-11-30: "Kept plants for …"
/// shown a second before leaving, and "Saved." from a run page, followed the user), except the ones their code marked as
/// announcing the move ("Run queued.", a deleted page's "Undo").</summary>
public sealed class SnackbarsOnNavigationTests
{
    private sealed record Note(string Text);

    [Fact]
    public void MovingToAnotherPageClosesEverySnackbarNotMarkedForTheNextPageHoweverRecent()
    {
        var kept = new Note("Kept plants for 2 images."); // shown a moment before the user left: still about the old page
        var saved = new Note("Saved.");
        var queued = SnackbarsOnNavigation.ForNextPage(new Note("Run queued."));

        Assert.Equal([kept, saved], SnackbarsOnNavigation.ToClose("datasets/4/train", "runs/17", [kept, saved, queued!]));
    }

    [Fact]
    public void AMarkLastsForOneMoveOnly()
    {
        var deleted = SnackbarsOnNavigation.ForNextPage(new Note("Dataset deleted. Undo"))!;

        Assert.Empty(SnackbarsOnNavigation.ToClose("datasets/4", "projects/2", [deleted]));
        Assert.Equal([deleted], SnackbarsOnNavigation.ToClose("projects/2", "teams", [deleted]));
    }

    [Fact]
    public void NullIsNotMarked() => Assert.Null(SnackbarsOnNavigation.ForNextPage<Note>(null));

    [Theory]
    [InlineData("projects/2/runs?tag=a", "projects/2/runs?tag=b")]
    [InlineData("datasets/4", "datasets/4#gallery")]
    [InlineData("datasets/4/", "datasets/4")]
    public void ChangingOnlyTheQueryStringOrFragmentStaysOnThePageAndClosesNothing(string from, string to)
    {
        var old = new Note("Tag added.");
        var marked = SnackbarsOnNavigation.ForNextPage(new Note("Run queued."))!;

        Assert.Empty(SnackbarsOnNavigation.ToClose(from, to, [old, marked]));
        // …and the mark is still there for the real move.
        Assert.Equal([old], SnackbarsOnNavigation.ToClose("datasets/4", "runs/1", [old, marked]));
    }
}
