using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>One run, live: progress, curves and log update as the scheduler persists each event (it owns the run;
/// closing this page changes nothing). Finished runs show their evaluation, downloads and "test an image".</summary>
public partial class RunPage
{
    private RunDetails? _run;
    private RunWait? _wait;
    private Timer? _waitTimer;
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
        await LoadWaitAsync();
        _loaded = true;
    }

    /// <summary>While the run is queued: why it waits, re-read every few seconds (other runs ahead of it start and end
    /// without an event for this one).</summary>
    private async Task LoadWaitAsync()
    {
        _wait = _run?.Run.Status == JobStatus.Queued ? await Jobs.WaitAsync(UserId, JobId) : null;
        if (_wait is not null && _waitTimer is null)
            _waitTimer = new Timer(_ => _ = InvokeAsync(async () =>
            {
                try
                {
                    await LoadWaitAsync();
                    StateHasChanged();
                }
                catch (Exception e)
                {
                    await DispatchExceptionAsync(e);
                }
            }), null, WaitRefresh, WaitRefresh);
        else if (_wait is null && _waitTimer is not null)
        {
            await _waitTimer.DisposeAsync();
            _waitTimer = null;
        }
    }

    private static readonly TimeSpan WaitRefresh = TimeSpan.FromSeconds(5);

    private async Task EditLabelsAsync()
    {
        if (_run is null) return;
        if (await RunLabelsDialog.EditAsync(Dialogs, _run.Run, change => Jobs.UpdateLabelsAsync(UserId, JobId, change)))
        {
            Snackbar.Add("Saved.", Severity.Success);
            await LoadAsync();
        }
    }

    private Task ToggleStarAsync() => _run is null ? Task.CompletedTask
        : TryAsync(async () =>
        {
            await Jobs.UpdateLabelsAsync(UserId, JobId, new RunLabelsChange { Pinned = !_run.Run.Pinned });
            await LoadAsync();
        });

    /// <summary>"3,078", "13.1 M": parameter counts as people compare them.</summary>
    internal static string Parameters(long count) => count switch
    {
        < 100_000 => count.ToString("N0"),
        < 1_000_000 => $"{count / 1e3:0.#} k",
        _ => $"{count / 1e6:0.0} M",
    };

    /// <summary>"features of 286 images: 250 from the cache, 36 computed at 8.6 images/s (4.2 s)".</summary>
    internal static string FeatureText(RunSummary run, int cached, int computed)
    {
        var images = cached + computed;
        var seconds = run.FeatureExtractionSeconds is { } s ? $" ({Duration(s)})" : "";
        if (computed == 0) return $"features of {images:N0} images, all from the cache{seconds}";
        var speed = run.FeatureImagesPerSecond is { } rate ? $" at {rate:N1} images/s" : "";
        return cached == 0
            ? $"features of {images:N0} images computed{speed}{seconds}"
            : $"features of {images:N0} images: {cached:N0} from the cache, {computed:N0} computed{speed}{seconds}";
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

    /// <summary>What "Re-queue" does, as its tooltip says it: the same run again, on the data it was launched with.</summary>
    public static string RequeueHelp(string title) =>
        $"Runs {title} again from the start, with the settings, seed and images it was launched with (changes to the dataset since are not included). It keeps its number and this page.";

    /// <summary>The tooltip of a diverged run's first action: why not the same settings, and what to change.</summary>
    public const string DivergedLaunchHelp =
        "The loss became NaN or infinite, and the same settings would diverge again. Opens the launch form with this run's settings to change: usually a lower learning rate (see the training doctor below).";

    /// <summary>What "Retrain with the same settings" does, as its tooltip says it: a new run on the dataset as it is now.</summary>
    public static string RetrainHelp(string title) =>
        $"Queues a new run with {title}'s settings and seed on the dataset as it is now (relabelled, added or re-split images included). {title} stays as it is, to compare with.";

    private Task RequeueAsync() => TryAsync(() => Jobs.RequeueAsync(UserId, JobId), "Queued again.");

    private async Task RetrainAsync()
    {
        var id = 0;
        if (await TryAsync(async () => id = await Jobs.RetrainAsync(UserId, JobId), "A new run is queued with the same settings.", doneOnNextPage: true))
            Navigation.NavigateTo($"runs/{id}");
    }

    /// <summary>The progress bar's colour: green when completed, blue only while the run is active; a run that stopped
    /// short keeps its bar where it stopped, red when it failed or diverged, grey when cancelled or lost (a blue
    /// partial bar on a diverged run read as "still training").</summary>
    internal static Color ProgressColor(RunSummary run) => run.Status switch
    {
        JobStatus.Completed => Color.Success,
        JobStatus.Failed or JobStatus.Diverged => Color.Error,
        JobStatus.Cancelled or JobStatus.WorkerLost => Color.Default,
        _ => Color.Primary,
    };

    private static double Progress(RunSummary run) =>
        run.Status == JobStatus.Completed ? 100 : run.EpochsTotal == 0 ? 0 : 100.0 * run.EpochsDone / run.EpochsTotal;

    internal static string Duration(double seconds) => seconds switch
    {
        < 10 => $"{seconds:0.0} s",
        < 60 => $"{seconds:0} s",
        < 3600 => $"{seconds / 60:0.#} min",
        _ => $"{seconds / 3600:0.#} h",
    };

    public void Dispose()
    {
        _waitTimer?.Dispose();
        _subscription.Dispose();
        GC.SuppressFinalize(this);
    }
}
