using MudBlazor;

namespace TransferHub.Web.Components.Shared;

/// <summary>The one way a delete offers its undo: a success snackbar with an "Undo" button, shown for
/// <see cref="OfferMilliseconds"/> (the server keeps a delete undoable longer, so a click at the last moment still works).</summary>
public static class UndoSnackbar
{
    public const int OfferMilliseconds = 30_000;

    /// <summary>Shows <paramref name="message"/> with "Undo", which runs <paramref name="undo"/> (it reports its own outcome).</summary>
    public static void Show(ISnackbar snackbar, string message, Func<Task> undo) =>
        snackbar.Add(message, Severity.Success, options =>
        {
            options.Action = "Undo";
            options.ActionColor = Color.Inherit;
            options.ActionVariant = Variant.Outlined;
            options.VisibleStateDuration = OfferMilliseconds;
            options.OnClick = _ => undo();
        });
}
