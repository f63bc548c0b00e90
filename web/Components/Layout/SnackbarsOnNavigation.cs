namespace TransferHub.Web.Components.Layout;

/// <summary>
/// Which notifications belong to the page being left: on a move to another page (another path; a changed query string,
/// like the Runs filters, is the same page) the snackbars shown for longer than <see cref="Grace"/> are closed, so
/// "Relabelled 3 images" does not follow the user to the next page. Younger ones stay: they announce the action that
/// navigated ("Run queued.", a delete's "Undo"). <typeparamref name="T"/> is MudBlazor's <c>Snackbar</c> in the app.
/// </summary>
public sealed class SnackbarsOnNavigation<T>(TimeProvider clock) where T : class
{
    /// <summary>How long before a navigation a snackbar may have appeared and still be about it.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    private readonly Dictionary<T, long> _since = new(ReferenceEqualityComparer.Instance);

    /// <summary>Notes when each of the <paramref name="shown"/> snackbars was first seen, and forgets closed ones.</summary>
    public void Seen(IEnumerable<T> shown)
    {
        var now = clock.GetTimestamp();
        var current = shown.ToList();
        foreach (var gone in _since.Keys.Where(k => !current.Contains(k, ReferenceEqualityComparer.Instance)).ToList()) _since.Remove(gone);
        foreach (var snackbar in current) _since.TryAdd(snackbar, now);
    }

    /// <summary>The snackbars to close on a move from <paramref name="from"/> to <paramref name="to"/> (base-relative URIs):
    /// none within one page, else those older than <see cref="Grace"/>; one never seen counts as new.</summary>
    public IReadOnlyList<T> ToClose(string from, string to, IEnumerable<T> shown)
    {
        if (string.Equals(PathOf(from), PathOf(to), StringComparison.OrdinalIgnoreCase)) return [];
        Seen(shown);
        return [.. _since.Where(s => clock.GetElapsedTime(s.Value) > Grace).Select(s => s.Key)];
    }

    private static string PathOf(string uri) => uri.Split('?', '#')[0].TrimEnd('/');
}
