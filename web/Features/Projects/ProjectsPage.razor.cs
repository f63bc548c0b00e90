using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;

namespace TransferHub.Web.Features.Projects;

public partial class ProjectsPage
{
    private IReadOnlyList<ProjectSummary>? _projects;
    private IReadOnlyList<TeamChoice> _editableTeams = [];
    private string? _teamFilterName;

    /// <summary>Shows only this team's projects (<c>?team=</c>).</summary>
    [SupplyParameterFromQuery(Name = "team")]
    public int? TeamFilter { get; set; }

    [Inject]
    private ProjectService Projects { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    private bool CanCreate => _editableTeams.Count > 0;

    protected override Task OnParametersSetAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        _editableTeams = await Projects.TeamsForNewProjectAsync(UserId);
        _projects = await Projects.ListAsync(UserId, TeamFilter);
        _teamFilterName = TeamFilter is null ? null
            : _projects.FirstOrDefault()?.TeamName ?? _editableTeams.FirstOrDefault(t => t.Id == TeamFilter)?.Name ?? $"#{TeamFilter}";
    }

    private void ClearTeamFilter() => Navigation.NavigateTo("projects");

    private async Task CreateAsync()
    {
        var teamId = _editableTeams.Any(t => t.Id == TeamFilter) ? TeamFilter : null;
        var form = await ProjectDialog.ShowAsync(Dialogs, "New project", new ProjectForm { TeamId = teamId ?? _editableTeams[0].Id }, _editableTeams);
        if (form is null)
            return;
        if (await TryAsync(() => Projects.CreateAsync(UserId, form.TeamId, form.Name, form.Description), $"Project \"{form.Name.Trim()}\" created."))
            await LoadAsync();
    }

    private async Task EditAsync(ProjectSummary project)
    {
        var form = await ProjectDialog.ShowAsync(Dialogs, "Rename project",
            new ProjectForm { TeamId = project.TeamId, Name = project.Name, Description = project.Description }, teams: null);
        if (form is null)
            return;
        if (await TryAsync(() => Projects.UpdateAsync(UserId, project.Id, form.Name, form.Description), "Project saved."))
            await LoadAsync();
    }

    private async Task DeleteAsync(ProjectSummary project)
    {
        var confirmed = await ConfirmDialog.AskAsync(Dialogs, "Delete project",
            $"Delete \"{project.Name}\" of {project.TeamName} with all its datasets and images? This cannot be undone.",
            "Delete", Color.Error);
        if (confirmed && await TryAsync(() => Projects.DeleteAsync(UserId, project.Id), $"Project \"{project.Name}\" deleted."))
            await LoadAsync();
    }
}
