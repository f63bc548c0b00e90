using TransferHub.Web.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Datasets;

public partial class ImageGallery
{
    public const int PageSize = 48;

    private ImagePage? _page;
    private int? _classId;
    private DatasetSplit? _split;
    private readonly HashSet<long> _selected = [];
    private int? _relabelTo;

    /// <summary>The dataset's classes, for the class filter.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ClassCount> Classes { get; set; } = [];

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    protected override Task OnInitializedAsync() => LoadAsync(1);

    /// <summary>Reloads the current page (after an upload).</summary>
    public Task ReloadAsync() => LoadAsync(_page?.Page ?? 1);

    public static string SplitName(DatasetSplit split) => SplitNames.Of(split);

    private static string Range(ImagePage page) => page.Total == 0 ? "" :
        $"{(page.Page - 1) * page.PageSize + 1:N0}–{(page.Page - 1) * page.PageSize + page.Items.Count:N0} of {page.Total:N0} images";

    private async Task LoadAsync(int page)
    {
        _page = await Datasets.PageImagesAsync(UserId, DatasetId, _classId, _split, page, PageSize);
        if (_page.Items.Count == 0 && page > 1)
            _page = await Datasets.PageImagesAsync(UserId, DatasetId, _classId, _split, _page.Pages, PageSize);
        StateHasChanged();
    }

    private Task GoToAsync(int page) => LoadAsync(page);

    private Task FilterByClassAsync(int? classId)
    {
        _classId = classId;
        return LoadAsync(1);
    }

    private Task FilterBySplitAsync(DatasetSplit? split)
    {
        _split = split;
        return LoadAsync(1);
    }

    private Task OpenAsync(ImageTile image) => ImageDialog.ShowAsync(Dialogs, DatasetId, image);

    private void Toggle(long imageId)
    {
        if (!_selected.Remove(imageId)) _selected.Add(imageId);
    }

    private Task RelabelAsync() => ChangeAsync(async ids =>
    {
        var name = Classes.First(c => c.ClassId == _relabelTo).Name;
        var n = await Curation.RelabelAsync(UserId, DatasetId, ids, _relabelTo!.Value);
        return $"Relabelled {n} image(s) as {name}.";
    });

    private Task MoveAsync(DatasetSplit split) => ChangeAsync(async ids =>
        $"Moved {await Curation.MoveToSplitAsync(UserId, DatasetId, ids, split)} image(s) to {SplitName(split)}.");

    private async Task DeleteAsync()
    {
        var confirmed = await ConfirmDialog.AskAsync(Dialogs, "Delete images",
            $"Remove {_selected.Count} image(s) from this dataset? You can undo it for {UndoOfferMilliseconds / 1000} seconds.", "Delete", Color.Error);
        if (confirmed)
            await RunAsync(async () =>
            {
                var receipt = await Curation.DeleteAsync(UserId, DatasetId, [.. _selected]);
                ShowDeleted($"Deleted {receipt.Images} image(s).", receipt);
                _selected.Clear();
                await ReloadAsync();
            }, changesDataset: true);
    }

    protected override Task OnRestoredAsync() => ReloadAsync();

    /// <summary>Applies a change to the selection; on success clears it and reloads, on refusal shows why.</summary>
    private Task ChangeAsync(Func<IReadOnlyCollection<long>, Task<string>> change) => RunAsync(async () =>
    {
        Snackbar.Add(await change([.. _selected]), Severity.Success);
        _selected.Clear();
        await ReloadAsync();
    }, changesDataset: true);
}
