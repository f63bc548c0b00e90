using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Features.Datasets.Curation;

namespace TransferHub.Web.Features.Datasets;

/// <summary>Base of the dataset page's working panels (gallery, classes, splits, near-duplicates): the dataset, the caller, whether
/// they may change it, a change callback for the page, and one way to run an action that may be refused.</summary>
public abstract class DatasetPanel : ComponentBase
{
    /// <summary>The dataset the panel shows and changes.</summary>
    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    /// <summary>The caller's user id; every service call is made as them.</summary>
    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    /// <summary>Whether the caller may change the dataset (an editor or owner of its team); false hides the controls that change it. The services check the role again.</summary>
    [Parameter, EditorRequired]
    public bool CanEdit { get; set; }

    /// <summary>Raised after the panel changed the dataset, so the page reloads its counts and gallery.</summary>
    [Parameter]
    public EventCallback OnChanged { get; set; }

    [Inject]
    protected ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    protected IDialogService Dialogs { get; set; } = default!;

    [Inject]
    protected CurationService Curation { get; set; } = default!;

    /// <summary>How long the snackbar offering to undo a delete stays (<see cref="UndoSnackbar"/>; the server keeps the
    /// deletion longer, <see cref="DeletionUndo.Window"/>, so a click at the last moment still works).</summary>
    public const int UndoOfferMilliseconds = UndoSnackbar.OfferMilliseconds;

    protected bool Busy { get; private set; }

    /// <summary>Runs <paramref name="action"/> with the panel busy; a refusal is shown, not thrown. When
    /// <paramref name="changesDataset"/>, the page is told afterwards.</summary>
    protected async Task RunAsync(Func<Task> action, bool changesDataset)
    {
        Busy = true;
        try
        {
            await action();
            if (changesDataset) await OnChanged.InvokeAsync();
        }
        catch (FeatureException refused)
        {
            Snackbar.Add(refused.Message, Severity.Error);
        }
        finally
        {
            Busy = false;
        }
    }

    /// <summary>Says what a delete did, with an "Undo" action that restores it (the page is told, and
    /// <see cref="OnRestoredAsync"/> runs).</summary>
    protected void ShowDeleted(string message, DeleteReceipt receipt) =>
        UndoSnackbar.Show(Snackbar, message, () => InvokeAsync(() => UndoAsync(receipt)));

    /// <summary>After an undo restored images: panels showing images reload them.</summary>
    protected virtual Task OnRestoredAsync() => Task.CompletedTask;

    private async Task UndoAsync(DeleteReceipt receipt)
    {
        await RunAsync(async () =>
        {
            var outcome = await Curation.RestoreAsync(UserId, DatasetId, receipt.UndoToken);
            Snackbar.Add(Describe(outcome), Severity.Success);
            await OnRestoredAsync();
        }, changesDataset: true);
        StateHasChanged();
    }

    /// <summary>"Restored 3 image(s)." with what else happened.</summary>
    public static string Describe(RestoreOutcome outcome)
    {
        var text = $"Restored {outcome.Images} image(s)";
        if (outcome.RecreatedClasses.Count > 0)
            text += $"; class {string.Join(", ", outcome.RecreatedClasses.Select(c => $"\"{c}\""))} created again";
        if (outcome.AlreadyThere > 0)
            text += $"; {outcome.AlreadyThere} were already back in the dataset";
        return text + ".";
    }
}
