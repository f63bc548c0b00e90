using System.Runtime.CompilerServices;
using MudBlazor;

namespace TransferHub.Web.Components.Layout;

/// <summary>
/// Which notifications belong to the page being left: on a move to another page (another path; a changed query string,
/// like the Runs filters, is the same page) every snackbar is closed, so "Relabelled 3 images" or "Saved." does not
/// follow the user to the next page, however recently it appeared. The only exceptions are the snackbars their code
/// marked with <see cref="ForNextPage{T}"/> because they announce the move itself ("Run queued." right before opening the
/// run, a delete's "Undo" when the deleted thing's page closes); a mark lasts for one move.
/// </summary>
public static class SnackbarsOnNavigation
{
    // Keyed by the snackbar object itself (one per circuit and message), so a mark never outlives its snackbar.
    private static readonly ConditionalWeakTable<object, object> ForNext = new();
    private static readonly object Mark = new();

    /// <summary>Marks <paramref name="snackbar"/> (when not null) to stay through the next move to another page; returns it.</summary>
    public static T? ForNextPage<T>(T? snackbar) where T : class
    {
        if (snackbar is not null) ForNext.AddOrUpdate(snackbar, Mark);
        return snackbar;
    }

    /// <summary>Shows a snackbar that announces the move the caller is about to make (it stays on the next page).</summary>
    public static Snackbar? AddForNextPage(this ISnackbar snackbars, string message, Severity severity = Severity.Success,
        Action<SnackbarOptions>? configure = null) => ForNextPage(snackbars.Add(message, severity, configure));

    /// <summary>The snackbars to close on a move from <paramref name="from"/> to <paramref name="to"/> (base-relative URIs):
    /// none within one page, else all of <paramref name="shown"/> except those marked for the next page, whose marks are
    /// used up (they close on the move after).</summary>
    public static IReadOnlyList<T> ToClose<T>(string from, string to, IEnumerable<T> shown) where T : class
    {
        if (string.Equals(PathOf(from), PathOf(to), StringComparison.OrdinalIgnoreCase)) return [];
        var close = new List<T>();
        foreach (var snackbar in shown.ToList())
            if (!ForNext.Remove(snackbar)) close.Add(snackbar);
        return close;
    }

    private static string PathOf(string uri) => uri.Split('?', '#')[0].TrimEnd('/');
}
