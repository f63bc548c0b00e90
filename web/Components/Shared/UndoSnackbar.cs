using MudBlazor;
using TransferHub.Web.Components.Layout;

namespace TransferHub.Web.Components.Shared;

/// <summary>The one way a delete offers its undo: a success snackbar with an "Undo" button, shown for
/// <see cref="OfferMilliseconds"/> (the server keeps a delete undoable longer, so a click at the last moment still works).</summary>
public static class UndoSnackbar
{
    public const int OfferMilliseconds = 30_000;

    /// <summary>Shows <paramref name="message"/> with "Undo", which runs <paramref name="undo"/> (it reports its own outcome).
    /// <paramref name="forNextPage"/>: the caller leaves the page next (the deleted thing's own page closes), and the offer
    /// goes with the user to the next page; otherwise it is closed like any other when the user moves on.</summary>
    public static void Show(ISnackbar snackbar, string message, Func<Task> undo, bool forNextPage = false)
    {
        var shown = snackbar.Add(message, Severity.Success, options =>
        {
            options.Action = "Undo";
            options.ActionColor = Color.Inherit;
            options.ActionVariant = Variant.Outlined;
            options.VisibleStateDuration = OfferMilliseconds;
            options.OnClick = _ => undo();
        });
        if (forNextPage) SnackbarsOnNavigation.ForNextPage(shown);
    }
}
