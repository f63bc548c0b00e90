using Microsoft.AspNetCore.Components;

namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Joins the dataset's presence while this (live) tab shows it, leaves when disposed, and shows the others.</summary>
public partial class DatasetViewers
{
    private IReadOnlyList<DatasetViewer> _others = [];
    private IDisposable? _visit, _watch;
    private int? _joined;

    /// <summary>The dataset whose viewers are shown; the live tab joins its presence, and moves when this changes.</summary>
    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    /// <summary>The caller's user id; their own entries (in any tab) are left out of the viewers shown.</summary>
    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    /// <summary>How others see the caller (their account name).</summary>
    [Parameter, EditorRequired]
    public string UserName { get; set; } = "";

    [Inject]
    private DatasetPresence Presence { get; set; } = default!;

    [Inject]
    private ClientSession Session { get; set; } = default!;

    protected override void OnParametersSet()
    {
        // A pre-rendered page is nobody looking: only the live circuit joins.
        if (!RendererInfo.IsInteractive || _joined == DatasetId) return;
        Dispose();
        _joined = DatasetId;
        _watch = Presence.Watch(DatasetId, () => InvokeAsync(Refresh));
        _visit = Presence.Join(DatasetId, Session.Id, UserId, UserName);
        _others = Others();
    }

    private static string Initial(DatasetViewer viewer) => viewer.Name.Length == 0 ? "?" : viewer.Name[..1].ToUpperInvariant();

    private IReadOnlyList<DatasetViewer> Others() => [.. Presence.ViewersOf(DatasetId).Where(v => v.UserId != UserId)];

    private void Refresh()
    {
        _others = Others();
        StateHasChanged();
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _visit?.Dispose();
        (_watch, _visit) = (null, null);
    }
}
