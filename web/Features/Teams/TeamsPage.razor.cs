using Microsoft.AspNetCore.Components;

namespace TransferHub.Web.Features.Teams;

public partial class TeamsPage
{
    private IReadOnlyList<TeamSummary>? _teams;
    private string _newTeamName = "";
    private bool _busy;

    [Inject]
    private TeamService Teams { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    protected override async Task OnParametersSetAsync() => _teams = await Teams.ListAsync(UserId);

    private async Task CreateTeamAsync()
    {
        if (_busy || string.IsNullOrWhiteSpace(_newTeamName))
            return;
        _busy = true;
        var id = 0;
        if (await TryAsync(async () => id = await Teams.CreateAsync(UserId, _newTeamName)))
            Navigation.NavigateTo($"teams/{id}");
        _busy = false;
    }
}
