using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;

namespace TransferHub.Web.Features.Datasets.Splits;

public partial class SplitPanel
{
    private int _train = 70, _val = 15, _test = 15, _seed = 1;
    private string? _version;

    /// <summary>Whether the dataset's test split is frozen: splitting then divides only train and validation (in the ratio train : validation) and the test images stay.</summary>
    [Parameter, EditorRequired]
    public bool Frozen { get; set; }

    [Inject]
    private DatasetSplitService Splits { get; set; } = default!;

    /// <summary>With a frozen test split only train and validation are divided, in the proportion train : validation.</summary>
    private bool AddsUp => Frozen ? _train > 0 && _val >= 0 : _train + _val + _test == 100;

    protected override async Task OnParametersSetAsync() => _version = await Splits.VersionAsync(UserId, DatasetId);

    /// <summary>Reads the content version again: the page calls it whenever the dataset changed (an import, a relabel,
    /// a delete, someone else's change), since none of those changes this panel's parameters.</summary>
    public async Task RefreshAsync()
    {
        _version = await Splits.VersionAsync(UserId, DatasetId);
        StateHasChanged();
    }

    private async Task SplitAsync()
    {
        var text = Frozen
            ? $"Reassign train and validation of every labelled image outside the frozen test split ({_train} : {_val}, seed {_seed})? The test images stay."
            : $"Reassign the split of every labelled image: {_train} % train, {_val} % validation, {_test} % test per class (seed {_seed})?";
        if (!await ConfirmDialog.AskAsync(Dialogs, "Split the dataset", text, "Split", Color.Primary)) return;
        await RunAsync(async () =>
        {
            var ratios = Frozen
                ? new SplitRatios((double)_train / (_train + _val), (double)_val / (_train + _val), 0)
                : new SplitRatios(_train / 100.0, _val / 100.0, _test / 100.0);
            var outcome = await Splits.SplitAsync(UserId, DatasetId, ratios, _seed);
            Snackbar.Add($"Split: {outcome.Train} train, {outcome.Val} validation, {outcome.Test} test ({outcome.Moved} moved).", Severity.Success);
            _version = await Splits.VersionAsync(UserId, DatasetId);
        }, changesDataset: true);
    }

    private async Task FreezeAsync(bool frozen)
    {
        if (!frozen && !await ConfirmDialog.AskAsync(Dialogs, "Unfreeze the test split",
                "Runs trained after a change of the test split are no longer comparable with earlier ones. Unfreeze?", "Unfreeze", Color.Warning))
            return;
        await RunAsync(async () =>
        {
            await Splits.SetTestSplitFrozenAsync(UserId, DatasetId, frozen);
            Snackbar.Add(frozen ? "Test split frozen: later runs are compared on the same test images." : "Test split unfrozen.", Severity.Info);
        }, changesDataset: true);
    }
}
