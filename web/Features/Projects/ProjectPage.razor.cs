using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Features.Projects;

/// <summary>One project: its team and its datasets. (Datasets come from the Datasets feature's service.)</summary>
public partial class ProjectPage
{
    private ProjectSummary? _project;
    private IReadOnlyList<DatasetSummary> _datasets = [];
    private List<BreadcrumbItem> _breadcrumbs = [];
    private bool _loaded;

    /// <summary>The project shown, from the route (<c>/projects/{ProjectId}</c>); one the caller cannot see shows "Project not found".</summary>
    [Parameter]
    public int ProjectId { get; set; }

    [Inject]
    private ProjectService Projects { get; set; } = default!;

    [Inject]
    private DatasetService Datasets { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    protected override Task OnParametersSetAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        _project = await Projects.GetAsync(UserId, ProjectId);
        _datasets = _project is null ? [] : await Datasets.ListAsync(UserId, ProjectId);
        _breadcrumbs = [new("Projects", "projects"), new(_project?.Name ?? "", null, disabled: true)];
        _loaded = true;
    }

    /// <summary>The project is gone from view: back to the list (the snackbar's "Undo" brings it back here).</summary>
    private void ProjectDeleted() => Navigation.NavigateTo("projects");

    private async Task CreateDatasetAsync()
    {
        var name = await NameDialog.ShowAsync(Dialogs, "New dataset");
        if (name is null)
            return;
        var id = 0;
        if (await TryAsync(async () => id = await Datasets.CreateAsync(UserId, ProjectId, name), $"Dataset \"{name}\" created.", doneOnNextPage: true))
            Navigation.NavigateTo($"datasets/{id}");
    }
}
