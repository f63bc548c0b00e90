using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Projects;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A project's runs, live; pick some to compare side by side or to combine into an ensemble.</summary>
public partial class RunsPage
{
    private List<RunSummary>? _runs;
    private HashSet<RunSummary> _selected = [];
    private ComparisonView? _comparison;
    private List<BreadcrumbItem> _breadcrumbs = [];

    /// <summary>The project whose runs are listed, from the route (<c>/projects/{ProjectId}/runs</c>); the list follows its runs live. A project the caller cannot see shows the refusal as an error message.</summary>
    [Parameter]
    public int ProjectId { get; set; }

    [Inject]
    private JobService Jobs { get; set; } = default!;

    [Inject]
    private ComparisonService Comparisons { get; set; } = default!;

    [Inject]
    private ProjectService Projects { get; set; } = default!;

    [Inject]
    private JobNotifier Notifier { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    private readonly FollowedSubscription _subscription = new();

    protected override async Task OnParametersSetAsync()
    {
        _subscription.Follow(ProjectId, key => Notifier.SubscribeProject(key, OnJobChangedAsync));
        var project = await Projects.GetAsync(UserId, ProjectId);
        _breadcrumbs = [new("Projects", "projects"), new(project?.Name ?? "Project", $"projects/{ProjectId}"), new("Runs", null, disabled: true)];
        await TryAsync(LoadAsync);
    }

    private async Task LoadAsync()
    {
        _runs = [.. await Jobs.ListAsync(UserId, ProjectId)];
        var chosen = _selected.Select(r => r.Id).ToHashSet();
        _selected = [.. _runs.Where(r => chosen.Contains(r.Id))];
    }

    /// <summary>A run of this project changed: reload that row only (a new run is added at the top), and the comparison
    /// when it shows the run; a failure reaches the page's error handling.</summary>
    private Task OnJobChangedAsync(JobUpdate update) => InvokeAsync(async () =>
    {
        if (_runs is null) return;
        try
        {
            var fresh = await Jobs.SummaryAsync(UserId, update.JobId);
            var index = _runs.FindIndex(r => r.Id == update.JobId);
            if (fresh is null && index >= 0) _runs.RemoveAt(index);
            else if (fresh is not null && index >= 0) _runs[index] = fresh;
            else if (fresh is not null) _runs.Insert(0, fresh);
            var chosen = _selected.Select(r => r.Id).ToHashSet();
            _selected = [.. _runs.Where(r => chosen.Contains(r.Id))];
            if (_comparison is not null && _comparison.Runs.Any(r => r.Run.Id == update.JobId)) await RefreshComparisonAsync();
            StateHasChanged();
        }
        catch (Exception e)
        {
            await DispatchExceptionAsync(e);
        }
    });

    private Task CompareAsync() => TryAsync(RefreshComparisonAsync);

    private async Task RefreshComparisonAsync() =>
        _comparison = await Comparisons.CompareAsync(UserId, ProjectId, [.. _selected.OrderBy(r => r.Id).Select(r => r.Id)]);

    private async Task EnsembleAsync()
    {
        var id = 0;
        if (await TryAsync(async () => id = await Comparisons.EnsembleAsync(UserId, ProjectId, [.. _selected.OrderBy(r => r.Id).Select(r => r.Id)]),
                "Ensemble evaluated."))
            Navigation.NavigateTo($"runs/{id}");
    }

    public void Dispose()
    {
        _subscription.Dispose();
        GC.SuppressFinalize(this);
    }
}
