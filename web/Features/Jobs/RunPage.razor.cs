using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>One run, live: progress, curves and log update as the scheduler persists each event (it owns the run;
/// closing this page changes nothing). Finished runs show their evaluation, downloads and "test an image".</summary>
public partial class RunPage
{
    private RunDetails? _run;
    private List<BreadcrumbItem> _breadcrumbs = [];
    private bool _loaded;

    /// <summary>The run shown, from the route (<c>/runs/{JobId}</c>), followed live; one the caller cannot see shows "Run not found".</summary>
    [Parameter]
    public int JobId { get; set; }

    [Inject]
    private JobService Jobs { get; set; } = default!;

    [Inject]
    private JobNotifier Notifier { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    private readonly FollowedSubscription _subscription = new();

    protected override async Task OnParametersSetAsync()
    {
        _subscription.Follow(JobId, key => Notifier.SubscribeRun(key, OnJobChangedAsync));
        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        _run = await Jobs.GetAsync(UserId, JobId);
        if (_run is not null)
            _breadcrumbs = [new("Projects", "projects"), new(_run.ProjectName, $"projects/{_run.ProjectId}"),
                new("Runs", $"projects/{_run.ProjectId}/runs"), new(_run.Run.Title, null, disabled: true)];
        _loaded = true;
    }

    /// <summary>The run changed: reload what the page shows (not its stored spec or evaluation); a failure reaches the
    /// page's error handling instead of vanishing in the notifier.</summary>
    private Task OnJobChangedAsync(JobUpdate update) => InvokeAsync(async () =>
    {
        try
        {
            await LoadAsync();
            StateHasChanged();
        }
        catch (Exception e)
        {
            await DispatchExceptionAsync(e);
        }
    });

    private async Task CancelAsync()
    {
        if (await Dialogs.ShowMessageBoxAsync("Cancel this run?", "Training stops after the current batch; the epochs so far are kept.",
                yesText: "Cancel run", cancelText: "Keep training") == true)
            await TryAsync(() => Jobs.CancelAsync(UserId, JobId), "Cancelling…");
    }

    private Task RequeueAsync() => TryAsync(() => Jobs.RequeueAsync(UserId, JobId), "Queued again.");

    private async Task RetrainAsync()
    {
        var id = 0;
        if (await TryAsync(async () => id = await Jobs.RetrainAsync(UserId, JobId), "A new run is queued with the same settings."))
            Navigation.NavigateTo($"runs/{id}");
    }

    private static double Progress(RunSummary run) =>
        run.Status == JobStatus.Completed ? 100 : run.EpochsTotal == 0 ? 0 : 100.0 * run.EpochsDone / run.EpochsTotal;

    internal static string Duration(double seconds) => seconds switch
    {
        < 60 => $"{seconds:0} s",
        < 3600 => $"{seconds / 60:0.#} min",
        _ => $"{seconds / 3600:0.#} h",
    };

    public void Dispose()
    {
        _subscription.Dispose();
        GC.SuppressFinalize(this);
    }
}
