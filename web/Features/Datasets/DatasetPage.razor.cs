using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Datasets.Import;

namespace TransferHub.Web.Features.Datasets;

/// <summary>One dataset: its counts, uploads (editors and owners), class and size charts, panels and gallery.</summary>
public partial class DatasetPage
{
    private DatasetOverview? _dataset;
    private ImageSizeStats? _sizes;
    private List<BreadcrumbItem> _breadcrumbs = [];
    private ImageGallery? _gallery;
    private bool _loaded;

    [Parameter]
    public int DatasetId { get; set; }

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    protected override Task OnParametersSetAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        _dataset = await Datasets.GetAsync(UserId, DatasetId);
        _sizes = _dataset is null ? null : await Datasets.GetSizesAsync(UserId, DatasetId);
        _breadcrumbs = _dataset is null ? [] :
        [
            new("Projects", "projects"),
            new(_dataset.ProjectName, $"projects/{_dataset.Dataset.ProjectId}"),
            new(_dataset.Dataset.Name, null, disabled: true),
        ];
        _loaded = true;
    }

    private Task ImportedAsync(ImportReport report) => SplitChangedAsync();

    private async Task SplitChangedAsync()
    {
        await LoadAsync();
        if (_gallery is not null)
            await _gallery.ReloadAsync();
    }
}
