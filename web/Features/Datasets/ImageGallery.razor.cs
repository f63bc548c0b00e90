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

    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    /// <summary>The dataset's classes, for the class filter.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ClassCount> Classes { get; set; } = [];

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    protected override Task OnInitializedAsync() => LoadAsync(1);

    /// <summary>Reloads the current page (after an upload).</summary>
    public Task ReloadAsync() => LoadAsync(_page?.Page ?? 1);

    public static string SplitName(DatasetSplit split) => split switch
    {
        DatasetSplit.Train => "train",
        DatasetSplit.Val => "validation",
        DatasetSplit.Test => "test",
        _ => "no split",
    };

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
}
