using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Datasets.Live;

namespace TransferHub.Web.Features.Datasets;

/// <summary>One dataset: its counts, uploads (editors and owners), class and size charts, panels and gallery.</summary>
public partial class DatasetPage
{
    private DatasetOverview? _dataset;
    private DeletedDataset? _deleted;
    private ImageSizeStats? _sizes;
    private List<BreadcrumbItem> _breadcrumbs = [];
    private ImageGallery? _gallery;
    private Splits.SplitPanel? _splits;
    private bool _loaded;
    private DatasetChange? _lastChange;
    private IDisposable? _changes;
    private int? _subscribed;

    /// <summary>The dataset shown, from the route (<c>/datasets/{DatasetId}</c>); one the caller cannot see shows "Dataset not found". Changes made elsewhere reload the page live.</summary>
    [Parameter]
    public int DatasetId { get; set; }

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    [Inject]
    private DatasetEvents Events { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ClientSession Session { get; set; } = default!;

    protected override Task OnParametersSetAsync()
    {
        if (RendererInfo.IsInteractive && _subscribed != DatasetId)
        {
            _changes?.Dispose();
            (_subscribed, _lastChange) = (DatasetId, null);
            _changes = Events.Subscribe(DatasetId, ChangedElsewhereAsync);
        }
        return LoadAsync();
    }

    /// <summary>Someone else (or this user in another tab) changed the dataset: reload everything and say who did what.
    /// Changes made in this tab are already shown by the panel that made them.</summary>
    private Task ChangedElsewhereAsync(DatasetChange change) => change.Origin == Session.Id ? Task.CompletedTask : InvokeAsync(async () =>
    {
        _lastChange = change;
        await SplitChangedAsync();
        StateHasChanged();
    });

    public void Dispose() => _changes?.Dispose();

    private async Task LoadAsync()
    {
        _dataset = await Datasets.GetAsync(UserId, DatasetId);
        _deleted = _dataset is null ? await Datasets.GetDeletedAsync(UserId, DatasetId) : null;
        _sizes = _dataset is null ? null : await Datasets.GetSizesAsync(UserId, DatasetId);
        _breadcrumbs = _dataset is null ? [] :
        [
            new("Projects", "projects"),
            new(_dataset.ProjectName, $"projects/{_dataset.Dataset.ProjectId}"),
            new(_dataset.Dataset.Name, null, disabled: true),
        ];
        _loaded = true;
        if (_splits is not null) await _splits.RefreshAsync();
    }

    /// <summary>Why a viewer's "Train" is disabled (the launch form's first blocker says the same).</summary>
    public const string ViewerCannotTrain = "As a viewer you can look at this dataset and its runs, but not launch runs: an editor or owner of the team can.";

    /// <summary>What stops this dataset from training (the launch form's list, <see cref="Jobs.TrainingReadiness"/>), without
    /// the caller's role (this page is not where runs are launched) and "no images" (the upload panel is right here).</summary>
    private IReadOnlyList<Jobs.LaunchBlocker> Blockers => _dataset is not { } d ? [] :
    [
        .. Jobs.TrainingReadiness.Of(d.Classes, d.Dataset.Images - d.Classes.Sum(c => c.Total), d.Dataset.TestSplitFrozen, d.CanEdit)
            .Where(b => b.Kind is not (Jobs.BlockerKind.ViewerOnly or Jobs.BlockerKind.NoImages)),
    ];

    private Task ImportedAsync(ImportReport report) => SplitChangedAsync();

    /// <summary>Deleted from this page: to its project (the snackbar's "Undo" brings it back here).</summary>
    private void DeletedHere() => Navigation.NavigateTo($"projects/{_dataset?.Dataset.ProjectId}");

    /// <summary>"Undo delete" on the page of a deleted dataset (any editor of its team, while the window lasts).</summary>
    private async Task RestoreAsync()
    {
        if (await TryAsync(async () => Snackbar.Add($"Dataset \"{await Datasets.RestoreAsync(UserId, DatasetId)}\" restored.", Severity.Success)))
            await SplitChangedAsync();
    }

    private async Task SplitChangedAsync()
    {
        await LoadAsync();
        if (_gallery is not null)
            await _gallery.ReloadAsync();
    }
}
