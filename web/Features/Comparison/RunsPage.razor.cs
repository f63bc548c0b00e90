using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Projects;

namespace TransferHub.Web.Features.Comparison;

/// <summary>A project's runs, live; pick some to compare side by side or to combine into an ensemble.</summary>
public partial class RunsPage
{
    private IReadOnlyList<RunSummary>? _runs;
    private HashSet<RunSummary> _selected = [];
    private ComparisonView? _comparison;
    private List<BreadcrumbItem> _breadcrumbs = [];

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

    protected override async Task OnInitializedAsync()
    {
        await base.OnInitializedAsync();
        Notifier.Changed += OnJobChanged;
    }

    protected override async Task OnParametersSetAsync()
    {
        var project = await Projects.GetAsync(UserId, ProjectId);
        _breadcrumbs = [new("Projects", "projects"), new(project?.Name ?? "Project", $"projects/{ProjectId}"), new("Runs", null, disabled: true)];
        await TryAsync(LoadAsync);
    }

    private async Task LoadAsync()
    {
        _runs = await Jobs.ListAsync(UserId, ProjectId);
        var chosen = _selected.Select(r => r.Id).ToHashSet();
        _selected = [.. _runs.Where(r => chosen.Contains(r.Id))];
    }

    private void OnJobChanged(JobUpdate update)
    {
        if (_runs is null) return;
        _ = InvokeAsync(async () =>
        {
            await TryAsync(LoadAsync);
            if (_comparison is not null && _comparison.Runs.Any(r => r.Run.Id == update.JobId)) await TryAsync(RefreshComparisonAsync);
            StateHasChanged();
        });
    }

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
        Notifier.Changed -= OnJobChanged;
        GC.SuppressFinalize(this);
    }
}
