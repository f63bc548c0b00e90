using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Datasets.Duplicates;

public partial class DuplicatesPanel
{
    private IReadOnlyList<DuplicateGroup>? _groups;
    private int _threshold = 6;

    [Inject]
    private DuplicateService Duplicates { get; set; } = default!;

    private Task FindAsync() => RunAsync(async () => _groups = await Duplicates.FindAsync(UserId, DatasetId, _threshold), changesDataset: false);

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
            _groups = await Duplicates.FindAsync(UserId, DatasetId, _threshold);
        }, changesDataset: true);
    }

    /// <summary>An undone clean-up brings the group back: search again if results are shown.</summary>
    protected override async Task OnRestoredAsync()
    {
        if (_groups is not null) _groups = await Duplicates.FindAsync(UserId, DatasetId, _threshold);
    }

    private Task MoveAsync(DuplicateGroup group, DatasetSplit split) => RunAsync(async () =>
    {
        await Curation.MoveToSplitAsync(UserId, DatasetId, [.. group.Images.Select(i => i.ImageId)], split);
        Snackbar.Add($"Moved {group.Images.Count} image(s) to {split.ToString().ToLowerInvariant()}.", Severity.Success);
        _groups = await Duplicates.FindAsync(UserId, DatasetId, _threshold);
    }, changesDataset: true);
}
