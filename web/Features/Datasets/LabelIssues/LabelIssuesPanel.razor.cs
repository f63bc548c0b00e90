using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;

namespace TransferHub.Web.Features.Datasets.LabelIssues;

public partial class LabelIssuesPanel : IDisposable
{
    private Guid? _operation;
    private DatasetWorkUpdate? _progress;
    private IDisposable? _following;
    private LabelIssueSummary? _summary;

    [Inject]
    private DatasetWork Work { get; set; } = default!;

    [Inject]
    private ClientSession Session { get; set; } = default!;

    private bool Searching => _operation is not null;

    /// <summary>Starts a search in the background and follows it (it goes on if this tab closes).</summary>
    private void Search()
    {
        var operation = Work.StartFindLabelIssues(UserId, DatasetId, Session.Id);
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
        if (update.OperationId != _operation) return;
        _progress = update;
        if (update.Finished)
        {
            _following?.Dispose();
            (_following, _operation, _progress) = (null, null, null);
            if (update.LabelIssues is { } summary)
            {
                _summary = summary;
                await OnChanged.InvokeAsync();
            }
            if (update.Error is not null) Snackbar.Add(update.Error, Severity.Error);
            else if (update.State == DatasetWorkState.Cancelled) Snackbar.Add("The label-issue search was cancelled.", Severity.Info);
        }
        StateHasChanged();
    });

    /// <summary>Stops following; the search itself goes on and stores its findings for everyone.</summary>
    public void Dispose()
    {
        _following?.Dispose();
        GC.SuppressFinalize(this);
    }
}
