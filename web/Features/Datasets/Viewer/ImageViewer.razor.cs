using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.JSInterop;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;

namespace TransferHub.Web.Features.Datasets.Viewer;

/// <summary>
/// Steps through <see cref="Items"/>, showing one image whole. Each dataset image is read fresh when shown, so its label
/// and split are current. Editors relabel it (a button or digit key per class; a frozen test split asks first) and
/// delete it (confirmed, with the same undo as everywhere) through <see cref="CurationService"/>, which checks their
/// role again; each change raises <see cref="OnChanged"/> so the page behind refreshes.
/// </summary>
public partial class ImageViewer : IDisposable
{
    private ElementReference _root;
    private List<ViewerItem> _items = [];
    private int _index;
    private ViewerContext? _context;
    private ImageTile? _image;
    private bool _loading = true;
    private bool _busy;
    private bool _focus;
    private bool _disposed;

    /// <summary>The dataset the images belong to (their URLs, relabel choices and changes).</summary>
    [Parameter, EditorRequired] public int DatasetId { get; set; }

    /// <summary>The caller's user id; images are read and changed as them.</summary>
    [Parameter, EditorRequired] public string UserId { get; set; } = "";

    /// <summary>The images to step through, in order.</summary>
    [Parameter, EditorRequired] public IReadOnlyList<ViewerItem> Items { get; set; } = [];

    /// <summary>Which of <see cref="Items"/> is shown first.</summary>
    [Parameter] public int StartIndex { get; set; }

    /// <summary>Raised after the viewer relabelled, deleted or restored an image.</summary>
    [Parameter] public EventCallback OnChanged { get; set; }

    /// <summary>Raised when the last image was deleted: nothing is left to show.</summary>
    [Parameter] public EventCallback OnEmpty { get; set; }

    [Inject] private DatasetService Datasets { get; set; } = default!;
    [Inject] private CurationService Curation { get; set; } = default!;
    [Inject] private ISnackbar Snackbar { get; set; } = default!;
    [Inject] private IDialogService Dialogs { get; set; } = default!;

    /// <summary>The item shown.</summary>
    private ViewerItem? Current => _index < _items.Count ? _items[_index] : null;

    private string? Sha256 => _image?.Sha256 ?? Current?.Sha256;

    private string Name => _image?.OriginalName ?? Current?.OriginalName ?? "";

    private bool CanEdit => _context?.CanEdit == true;

    /// <summary>Which image is shown (for tests and hosts): its position in <see cref="Items"/> as they are now.</summary>
    public int Index => _index;

    protected override async Task OnInitializedAsync()
    {
        _items = [.. Items];
        _index = Math.Clamp(StartIndex, 0, Math.Max(0, _items.Count - 1));
        _context = await Datasets.ViewerContextAsync(UserId, DatasetId);
        await LoadAsync();
        _focus = true;
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!_focus) return;
        _focus = false;
        try
        {
            await _root.FocusAsync();
        }
        catch (Exception e) when (e is JSException or InvalidOperationException or TaskCanceledException)
        {
            // Gone or not interactive: the buttons still work.
        }
    }

    public void Dispose()
    {
        _disposed = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>Reads the current image as it is now (null when it has no id, or is no longer in the dataset).</summary>
    private async Task LoadAsync()
    {
        _loading = true;
        _image = Current?.ImageId is { } id ? await Datasets.GetImageAsync(UserId, DatasetId, id) : null;
        _loading = false;
    }

    private async Task KeyAsync(KeyboardEventArgs e)
    {
        if (e.CtrlKey || e.AltKey || e.MetaKey || _busy) return;
        switch (e.Key)
        {
            case "ArrowRight":
                await MoveAsync(1);
                break;
            case "ArrowLeft":
                await MoveAsync(-1);
                break;
            case "Delete":
                await DeleteAsync();
                break;
            case [>= '1' and <= '9'] digit when _context is { } context && digit[0] - '1' < context.Classes.Count:
                await RelabelAsync(context.Classes[digit[0] - '1']);
                break;
        }
    }

    private async Task MoveAsync(int step)
    {
        var next = _index + step;
        if (next < 0 || next >= _items.Count) return;
        _index = next;
        await LoadAsync();
        _focus = true;
    }

    private async Task RelabelAsync(ViewerClass to)
    {
        if (!CanEdit || _image is not { } image || image.ClassId == to.Id) return;
        if (image.Split == DatasetSplit.Test && _context!.TestSplitFrozen &&
            !await ConfirmDialog.AskAsync(Dialogs, "Relabel a test image", FrozenTestWarning(1, 1, to.Name), "Relabel", Color.Warning))
        {
            _focus = true;
            return;
        }
        await ChangeAsync(async () =>
        {
            await Curation.RelabelAsync(UserId, DatasetId, [image.Id], to.Id);
            await LoadAsync();
        });
    }

    /// <summary>The warning before relabelling images of a frozen test split (the gallery asks it too).</summary>
    public static string FrozenTestWarning(int inTest, int selected, string className) =>
        $"{(selected == 1 ? "This image is" : $"{inTest} of the {selected} images {(inTest == 1 ? "is" : "are")}")} in the test split, which is frozen so that runs stay comparable. " +
        $"Relabelling changes the test set: runs evaluated before keep the old label, later runs see the new one. Relabel as {className} anyway?";

    private async Task DeleteAsync()
    {
        if (!CanEdit || _image is not { } image) return;
        if (!await ConfirmDialog.AskAsync(Dialogs, "Delete image",
                $"Remove \"{image.OriginalName}\" from this dataset? You can undo it for {UndoSnackbar.OfferMilliseconds / 1000} seconds.", "Delete", Color.Error))
        {
            _focus = true;
            return;
        }
        await ChangeAsync(async () =>
        {
            var receipt = await Curation.DeleteAsync(UserId, DatasetId, [image.Id]);
            var (item, at) = (_items[_index], _index);
            _items.RemoveAt(_index);
            UndoSnackbar.Show(Snackbar, $"Deleted \"{image.OriginalName}\".", () => InvokeAsync(() => UndoDeleteAsync(receipt, item, at)));
            if (_items.Count == 0)
            {
                await OnEmpty.InvokeAsync();
                return;
            }
            _index = Math.Min(_index, _items.Count - 1);
            await LoadAsync();
        });
    }

    /// <summary>"Undo" of a delete made here: the image comes back (same id), and into this viewer if it is still open.</summary>
    private async Task UndoDeleteAsync(DeleteReceipt receipt, ViewerItem item, int at)
    {
        try
        {
            Snackbar.Add(DatasetPanel.Describe(await Curation.RestoreAsync(UserId, DatasetId, receipt.UndoToken)), Severity.Success);
        }
        catch (FeatureException refused)
        {
            Snackbar.Add(refused.Message, Severity.Error);
            return;
        }
        if (!_disposed)
        {
            _index = Math.Min(at, _items.Count);
            _items.Insert(_index, item);
            await LoadAsync();
            StateHasChanged();
        }
        await OnChanged.InvokeAsync();
    }

    /// <summary>Runs a change with the viewer busy; a refusal is shown, not thrown; the host hears of a success.</summary>
    private async Task ChangeAsync(Func<Task> change)
    {
        _busy = true;
        try
        {
            await change();
        }
        catch (FeatureException refused)
        {
            Snackbar.Add(refused.Message, Severity.Error);
            return;
        }
        finally
        {
            _busy = false;
            _focus = true;
        }
        await OnChanged.InvokeAsync();
    }
}
