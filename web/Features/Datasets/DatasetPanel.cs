using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace TransferHub.Web.Features.Datasets;

/// <summary>Base of the dataset page's working panels (gallery, classes, splits, near-duplicates): the dataset, the caller, whether
/// they may change it, a change callback for the page, and one way to run an action that may be refused.</summary>
public abstract class DatasetPanel : ComponentBase
{
    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    [Parameter, EditorRequired]
    public bool CanEdit { get; set; }

    /// <summary>Raised after the panel changed the dataset, so the page reloads its counts and gallery.</summary>
    [Parameter]
    public EventCallback OnChanged { get; set; }

    [Inject]
    protected ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    protected IDialogService Dialogs { get; set; } = default!;

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
}
