using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Datasets.Curation;

public partial class ClassesPanel
{
    /// <summary>The dataset's classes with their image counts, one row each in this order with rename, merge and delete; merging needs at least two.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ClassCount> Classes { get; set; } = [];

    [Inject]
    private ClassService ClassService { get; set; } = default!;

    private async Task AddAsync()
    {
        var name = await NameDialog.ShowAsync(Dialogs, "Add class", "Class name", "Add", maxLength: DatasetClass.NameMaxLength);
        if (name is not null)
            await RunAsync(async () => { await ClassService.AddAsync(UserId, DatasetId, name); Snackbar.Add($"Class \"{name}\" added.", Severity.Success); }, true);
    }

    private async Task RenameAsync(ClassCount c)
    {
        var name = await NameDialog.ShowAsync(Dialogs, "Rename class", "Class name", "Rename", c.Name, DatasetClass.NameMaxLength);
        if (name is not null && name != c.Name)
            await RunAsync(async () => { await ClassService.RenameAsync(UserId, DatasetId, c.ClassId, name); Snackbar.Add($"Renamed to \"{name}\".", Severity.Success); }, true);
    }

    private async Task MergeAsync(ClassCount from, ClassCount into)
    {
        if (await ConfirmDialog.AskAsync(Dialogs, "Merge classes",
                $"Relabel the {from.Total} image(s) of \"{from.Name}\" as \"{into.Name}\" and remove \"{from.Name}\"?", "Merge", Color.Primary))
            await RunAsync(async () =>
            {
                var moved = await ClassService.MergeAsync(UserId, DatasetId, from.ClassId, into.ClassId);
                Snackbar.Add($"Merged {moved} image(s) into \"{into.Name}\".", Severity.Success);
            }, true);
    }

    private async Task DeleteAsync(ClassCount c, ClassImagesOnDelete images)
    {
        var what = images == ClassImagesOnDelete.DeleteImages
            ? $"Delete \"{c.Name}\" and its {c.Total} image(s)? You can undo it for {UndoOfferMilliseconds / 1000} seconds."
            : $"Delete \"{c.Name}\"? Its {c.Total} image(s) stay in the dataset, unlabelled.";
        if (await ConfirmDialog.AskAsync(Dialogs, "Delete class", what, "Delete", Color.Error))
            await RunAsync(async () =>
            {
                var receipt = await ClassService.DeleteAsync(UserId, DatasetId, c.ClassId, images);
                ShowDeleted(images == ClassImagesOnDelete.DeleteImages ? $"Class \"{c.Name}\" and its {receipt.Images} image(s) deleted." : $"Class \"{c.Name}\" deleted.", receipt);
            }, true);
    }
}
