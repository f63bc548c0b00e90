using TransferHub.Web.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Viewer;
using TransferHub.Web.Features.Datasets.LabelIssues;

namespace TransferHub.Web.Features.Datasets;

public partial class ImageGallery
{
    public const int PageSize = 48;

    private ImagePage? _page;
    private int? _classId;
    private DatasetSplit? _split;
    private readonly HashSet<long> _selected = [];
    private int? _relabelTo;
    /// <summary>The "Suspected label issues" filter: on, the gallery lists the latest label-issue search's open findings.</summary>
    private bool _issuesOnly;
    private IReadOnlyList<SuspectedIssue>? _issues;

    /// <summary>The dataset's classes, for the class filter.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ClassCount> Classes { get; set; } = [];

    /// <summary>Whether the dataset's test split is frozen: relabelling test images then asks first.</summary>
    [Parameter]
    public bool TestSplitFrozen { get; set; }

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    [Inject]
    private LabelIssues.LabelIssueService LabelIssues { get; set; } = default!;

    protected override Task OnInitializedAsync() => LoadAsync(1);

    /// <summary>Reloads the current page (after an upload).</summary>
    public Task ReloadAsync() => LoadAsync(_page?.Page ?? 1);

    public static string SplitName(DatasetSplit split) => SplitNames.Of(split);

    private static string Range(ImagePage page) => page.Total == 0 ? "" :
        $"{(page.Page - 1) * page.PageSize + 1:N0}–{(page.Page - 1) * page.PageSize + page.Items.Count:N0} of {page.Total:N0} images";

    private async Task LoadAsync(int page)
    {
        _issues = _issuesOnly ? await LabelIssues.ListAsync(UserId, DatasetId) : null;
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

    /// <summary>Opens the viewer on the image, stepping through every image of the current filter (not only this page).</summary>
    private async Task OpenAsync(ImageTile image)
    {
        var ids = await Datasets.ImageIdsAsync(UserId, DatasetId, _classId, _split);
        var start = Math.Max(0, ids.ToList().IndexOf(image.Id));
        await ImageViewerDialog.ShowAsync(Dialogs, "Image", DatasetId, UserId, [.. ids.Select(id => new ViewerItem(id))], start,
            EventCallback.Factory.Create(this, ChangedInViewerAsync));
    }

    /// <summary>The viewer relabelled, deleted or restored an image: the page and this grid follow at once.</summary>
    private async Task ChangedInViewerAsync()
    {
        await ReloadAsync();
        await OnChanged.InvokeAsync();
    }

    private void Toggle(long imageId)
    {
        if (!_selected.Remove(imageId)) _selected.Add(imageId);
    }

    private bool AllOnPageSelected => _page is { Items.Count: > 0 } page && page.Items.All(i => _selected.Contains(i.Id));

    private void SelectPage(bool selected)
    {
        foreach (var image in _page?.Items ?? [])
            if (selected) _selected.Add(image.Id);
            else _selected.Remove(image.Id);
    }

    /// <summary>Selects every image the filter matches, on every page.</summary>
    private async Task SelectAllAsync()
    {
        foreach (var id in await Datasets.ImageIdsAsync(UserId, DatasetId, _classId, _split))
            _selected.Add(id);
    }

    private async Task RelabelAsync()
    {
        var name = Classes.First(c => c.ClassId == _relabelTo).Name;
        if (TestSplitFrozen && await Datasets.CountInTestSplitAsync(UserId, DatasetId, [.. _selected]) is var inTest and > 0 &&
            !await ConfirmDialog.AskAsync(Dialogs, "Relabel test images", ImageViewer.FrozenTestWarning(inTest, _selected.Count, name), "Relabel", Color.Warning))
            return;
        await ChangeAsync(async ids => $"Relabelled {await Curation.RelabelAsync(UserId, DatasetId, ids, _relabelTo!.Value)} image(s) as {name}.");
    }

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

    private Task FilterByIssuesAsync(bool on)
    {
        _issuesOnly = on;
        return LoadAsync(1);
    }

    /// <summary>The viewer on the suspected images, in the list's order.</summary>
    private async Task OpenIssueAsync(SuspectedIssue issue)
    {
        var list = _issues ?? [];
        await ImageViewerDialog.ShowAsync(Dialogs, "Suspected label issues", DatasetId, UserId,
            [.. list.Select(i => new ViewerItem(i.ImageId, i.Sha256, i.OriginalName))], Math.Max(0, list.ToList().IndexOf(issue)),
            EventCallback.Factory.Create(this, ChangedInViewerAsync));
    }

    /// <summary>"Relabel as …": the suggested class, with the frozen test split's question first.</summary>
    private async Task AcceptAsync(SuspectedIssue issue)
    {
        if (TestSplitFrozen && issue.Split == DatasetSplit.Test &&
            !await ConfirmDialog.AskAsync(Dialogs, "Relabel a test image", ImageViewer.FrozenTestWarning(1, 1, issue.SuggestedClassName!), "Relabel", Color.Warning))
            return;
        await RunAsync(async () =>
        {
            Snackbar.Add($"Relabelled {issue.OriginalName} as {await LabelIssues.AcceptAsync(UserId, DatasetId, issue.ImageId)}.", Severity.Success);
            await ReloadAsync();
        }, changesDataset: true);
    }

    /// <summary>"Keep label": remembered, so the image is not flagged again with this label.</summary>
    private Task KeepAsync(SuspectedIssue issue) => RunAsync(async () =>
    {
        await LabelIssues.KeepAsync(UserId, DatasetId, issue.ImageId);
        Snackbar.Add($"Kept {issue.GivenClassName} for {issue.OriginalName}; it will not be flagged again with this label.", Severity.Success);
        await ReloadAsync();
    }, changesDataset: false);

    private async Task DeleteIssueAsync(SuspectedIssue issue)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, "Delete image",
                $"Remove {issue.OriginalName} from this dataset? You can undo it for {UndoOfferMilliseconds / 1000} seconds.", "Delete", Color.Error))
            return;
        await RunAsync(async () =>
        {
            ShowDeleted($"Deleted {issue.OriginalName}.", await Curation.DeleteAsync(UserId, DatasetId, [issue.ImageId]));
            await ReloadAsync();
        }, changesDataset: true);
    }

    /// <summary>Applies a change to the selection; on success clears it and reloads, on refusal shows why.</summary>
    private Task ChangeAsync(Func<IReadOnlyCollection<long>, Task<string>> change) => RunAsync(async () =>
    {
        Snackbar.Add(await change([.. _selected]), Severity.Success);
        _selected.Clear();
        await ReloadAsync();
    }, changesDataset: true);
}
