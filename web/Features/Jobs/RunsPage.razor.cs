using TransferHub.Web.Components.Layout;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Projects;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A project's runs, live: filtered and sorted as the query string says (<see cref="RunQuery"/>), starred by
/// editors; pick some to compare side by side or to combine into an ensemble.</summary>
public partial class RunsPage
{
    private List<RunSummary>? _runs;
    private IReadOnlyList<RunSummary> _shown = [];
    private RunQuery _query = new();
    private IReadOnlyList<string> _backbones = [];
    private IReadOnlyList<string> _tags = [];
    private bool _canEdit;
    /// <summary>The Dataset column is shown only when the project's runs used more than one dataset.</summary>
    private bool _severalDatasets;
    private const int TagsShown = 1;
    private int _loadedProject;
    private HashSet<RunSummary> _selected = [];
    private ComparisonView? _comparison;
    private List<BreadcrumbItem> _breadcrumbs = [];

    /// <summary>The project whose runs are listed, from the route (<c>/projects/{ProjectId}/runs</c>); the list follows its runs live. A project the caller cannot see shows the refusal as an error message.</summary>
    [Parameter]
    public int ProjectId { get; set; }

    [SupplyParameterFromQuery(Name = "status")] public string? StatusFilter { get; set; }
    [SupplyParameterFromQuery(Name = "mode")] public string? ModeFilter { get; set; }
    [SupplyParameterFromQuery(Name = "backbone")] public string? BackboneFilter { get; set; }
    [SupplyParameterFromQuery(Name = "tag")] public string? TagFilter { get; set; }
    [SupplyParameterFromQuery(Name = "minacc")] public string? MinAccuracyFilter { get; set; }
    [SupplyParameterFromQuery(Name = "q")] public string? TextFilter { get; set; }
    [SupplyParameterFromQuery(Name = "starred")] public string? StarredFilter { get; set; }
    [SupplyParameterFromQuery(Name = "sort")] public string? SortBy { get; set; }
    [SupplyParameterFromQuery(Name = "dir")] public string? SortDirection { get; set; }

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
        _query = RunQuery.From(StatusFilter, ModeFilter, BackboneFilter, TagFilter, MinAccuracyFilter, TextFilter, StarredFilter, SortBy, SortDirection);
        if (_loadedProject == ProjectId && _runs is not null)
        {
            Show(); // only the query string changed
            return;
        }
        _subscription.Follow(ProjectId, key => Notifier.SubscribeProject(key, OnJobChangedAsync));
        var project = await Projects.GetAsync(UserId, ProjectId);
        _canEdit = project?.CanEdit == true;
        _breadcrumbs = [new("Projects", "projects"), new(project?.Name ?? "Project", $"projects/{ProjectId}"), new("Runs", null, disabled: true)];
        await TryAsync(LoadAsync);
        _loadedProject = ProjectId;
    }

    private async Task LoadAsync()
    {
        _runs = [.. await Jobs.ListAsync(UserId, ProjectId)];
        Show();
    }

    /// <summary>Applies the view to the runs and keeps only selected runs that are still there.</summary>
    private void Show()
    {
        if (_runs is null) return;
        _shown = _query.Apply(_runs);
        _severalDatasets = _runs.Select(r => r.DatasetId).Distinct().Skip(1).Any();
        _backbones = [.. _runs.Select(r => r.Backbone).Distinct().Order(StringComparer.Ordinal)];
        _tags = [.. _runs.SelectMany(r => r.Tags).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];
        var chosen = _selected.Select(r => r.Id).ToHashSet();
        _selected = [.. _runs.Where(r => chosen.Contains(r.Id))];
    }

    /// <summary>A new view: into the URL (replacing the entry, so Back leaves the page), which re-renders the table.</summary>
    private Task SetQueryAsync(RunQuery query)
    {
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(query.ToQuery()), replace: true);
        return Task.CompletedTask;
    }

    private Task ToggleStarAsync(RunSummary run) =>
        TryAsync(() => Jobs.UpdateLabelsAsync(UserId, run.Id, new RunLabelsChange { Pinned = !run.Pinned }), run.Pinned ? $"{run.Title} unstarred." : $"{run.Title} starred.");

    /// <summary>A run's creation time as short as the Runs table allows (the whole date is in its tooltip): "14:05" today,
    /// "30 Nov" earlier this year, "30 Nov 2025" before. Both times are local.</summary>
    public static string CreatedText(DateTime created, DateTime now) =>
        created.Date == now.Date ? created.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)
        : created.Year == now.Year ? created.ToString("d MMM", System.Globalization.CultureInfo.InvariantCulture)
        : created.ToString("d MMM yyyy", System.Globalization.CultureInfo.InvariantCulture);

    internal static string Ordinal(int n) => (n % 100) switch
    {
        11 or 12 or 13 => $"{n}th",
        _ => (n % 10) switch { 1 => $"{n}st", 2 => $"{n}nd", 3 => $"{n}rd", _ => $"{n}th" },
    };

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
            Show();
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

    /// <summary>Shows what the chosen runs would make (members with their accuracies, a name to edit); the ensemble is made
    /// only once confirmed, then opened.</summary>
    private async Task EnsembleAsync()
    {
        int[] ids = [.. _selected.OrderBy(r => r.Id).Select(r => r.Id)];
        EnsemblePlan? plan = null;
        if (!await TryAsync(async () => plan = await Comparisons.PlanEnsembleAsync(UserId, ProjectId, ids)) || plan is null) return;
        if (await EnsembleDialog.ConfirmAsync(Dialogs, plan, name => Comparisons.EnsembleAsync(UserId, ProjectId, ids, name)) is { } id)
        {
            Snackbar.AddForNextPage("Ensemble created and evaluated.");
            Navigation.NavigateTo($"runs/{id}");
        }
    }

    public void Dispose()
    {
        _subscription.Dispose();
        GC.SuppressFinalize(this);
    }
}
