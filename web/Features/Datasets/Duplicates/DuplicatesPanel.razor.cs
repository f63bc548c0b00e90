using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Viewer;
using TransferHub.Web.Features.Datasets.Work;

namespace TransferHub.Web.Features.Datasets.Duplicates;

public partial class DuplicatesPanel : IDisposable
{
    private DuplicateSearch? _result;
    private double _threshold = DuplicateService.DefaultThreshold;

    /// <summary>The search this panel follows (it runs in <see cref="DatasetWork"/>, off this circuit), and its latest update.</summary>
    private Guid? _operation;
    private DatasetWorkUpdate? _progress;
    private IDisposable? _following;

    [Inject]
    private DatasetWork Work { get; set; } = default!;

    [Inject]
    private ClientSession Session { get; set; } = default!;

    [Inject]
    private DuplicateService Duplicates { get; set; } = default!;

    private bool Searching => _operation is not null;

    /// <summary>Groups this large are rarely copies: a group of more than <see cref="CrowdedGroup"/> images, or a fifth
    /// of the dataset in groups, means the threshold joins different pictures of one kind (tiny or plain images such as
    /// 28 px Fashion-MNIST sit close together in the backbone's features).</summary>
    public const int CrowdedGroup = 10;

    /// <summary>The warning for <see cref="CrowdedGroup"/>, or null.</summary>
    public static string? TooManyGrouped(DuplicateSearch result)
    {
        if (result.Method != DuplicateMethod.Embeddings || result.Groups.Count == 0 || result.Images == 0) return null;
        var grouped = result.Groups.Sum(g => g.Images.Count);
        var largest = result.Groups.Max(g => g.Images.Count);
        if (largest <= CrowdedGroup && grouped * 5 < result.Images) return null;
        return $"{grouped:N0} of {result.Images:N0} images are in groups, the largest of {largest:N0}: groups this large are " +
            "usually different pictures of one kind, not copies (small or plain images look alike to the network). Raise the " +
            "similarity (0.97 or more) and search again before keeping only one image of a group.";
    }

    private void FindAsync() => Search();

    /// <summary>Starts a search in the background and follows it; a search already running is cancelled (its result
    /// would be stale).</summary>
    private void Search()
    {
        if (_operation is { } previous)
            Work.Cancel(previous);
        var operation = Work.StartFindDuplicates(UserId, DatasetId, _threshold, Session.Id);
        (_operation, _progress) = (operation, null);
        _following?.Dispose();
        _following = Work.SubscribeOperation(operation, OnWorkAsync);
        if (Work.Current(operation) is { } current)
            _ = OnWorkAsync(current);
    }

    private void CancelSearch()
    {
        if (_operation is { } operation)
            Work.Cancel(operation);
    }

    private Task OnWorkAsync(DatasetWorkUpdate update) => InvokeAsync(async () =>
    {
        try
        {
            Apply(update);
            StateHasChanged();
        }
        catch (Exception e)
        {
            await DispatchExceptionAsync(e);
        }
    });

    private void Apply(DatasetWorkUpdate update)
    {
        if (update.OperationId != _operation)
            return;
        _progress = update;
        if (!update.Finished)
            return;
        _following?.Dispose();
        (_following, _operation, _progress) = (null, null, null);
        if (update.Duplicates is not null)
            _result = update.Duplicates;
        if (update.Error is not null)
            Snackbar.Add(update.Error, Severity.Error);
        else if (update.State == DatasetWorkState.Cancelled)
            Snackbar.Add("The near-duplicate search was cancelled.", Severity.Info);
    }

    private async Task KeepAsync(DuplicateGroup group, DuplicateMember keep)
    {
        var others = group.Images.Count - 1;
        if (!await ConfirmDialog.AskAsync(Dialogs, "Keep one image",
                $"Keep \"{keep.OriginalName}\" and remove the other {others} image(s) of this group from the dataset? You can undo it for {UndoOfferMilliseconds / 1000} seconds.",
                "Remove others", Color.Error))
            return;
        await RunAsync(async () =>
        {
            var removed = await Curation.DeleteAsync(UserId, DatasetId, [.. group.Images.Where(i => i.ImageId != keep.ImageId).Select(i => i.ImageId)]);
            ShowDeleted($"Removed {removed.Images} near-duplicate(s).", removed);
            Search();
        }, changesDataset: true);
    }

    /// <summary>An undone clean-up brings the group back: search again if results are shown.</summary>
    protected override Task OnRestoredAsync()
    {
        if (_result is not null) Search();
        return Task.CompletedTask;
    }

    /// <summary>Opens the viewer on the group's pictures, side by side one after the other; a change there searches again.</summary>
    private Task OpenAsync(DuplicateGroup group, int index) =>
        ImageViewerDialog.ShowAsync(Dialogs, "Near-duplicates", DatasetId, UserId,
            [.. group.Images.Select(i => new ViewerItem(i.ImageId, i.Sha256, i.OriginalName))], index,
            EventCallback.Factory.Create(this, async () =>
            {
                await OnChanged.InvokeAsync();
                if (_result is not null) Search();
            }));

    /// <summary>"Not duplicates": the whole group (<paramref name="one"/> null) or one image against the rest of its
    /// group is remembered as different pictures; the group leaves the list (or loses that image) at once.</summary>
    private Task NotDuplicatesAsync(DuplicateGroup group, DuplicateMember? one) => RunAsync(async () =>
    {
        await Duplicates.MarkDistinctAsync(UserId, DatasetId, [.. group.Images.Select(i => i.ImageId)], one?.ImageId);
        var rest = one is null ? [] : group.Images.Where(i => i.ImageId != one.ImageId).ToList();
        if (_result is { } result)
            _result = result with
            {
                Groups = [.. result.Groups.Select(g => g == group ? new DuplicateGroup(rest) : g).Where(g => g.Images.Count > 1)],
            };
        Snackbar.Add(one is null
            ? $"Remembered: these {group.Images.Count} images are different pictures and will not be grouped again."
            : $"Remembered: {one.OriginalName} is not a duplicate of the other {group.Images.Count - 1}.", Severity.Success);
    }, changesDataset: false);

    private Task MoveAsync(DuplicateGroup group, DatasetSplit split) => RunAsync(async () =>
    {
        await Curation.MoveToSplitAsync(UserId, DatasetId, [.. group.Images.Select(i => i.ImageId)], split);
        Snackbar.Add($"Moved {group.Images.Count} image(s) to {split.ToString().ToLowerInvariant()}.", Severity.Success);
        Search();
    }, changesDataset: true);

    /// <summary>Stops following the search and cancels it: nobody is left to see its result.</summary>
    public void Dispose()
    {
        _following?.Dispose();
        CancelSearch();
        GC.SuppressFinalize(this);
    }
}
