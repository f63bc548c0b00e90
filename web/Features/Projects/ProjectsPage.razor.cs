using Microsoft.AspNetCore.Components;
using MudBlazor;

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
}
