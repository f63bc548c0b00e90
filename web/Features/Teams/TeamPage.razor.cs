using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

public partial class TeamPage
{
    private TeamDetails? _team;
    private bool _loaded;
    private bool _busy;
    private string _newEmail = "";
    private TeamRole _newRole = TeamRole.Editor;
    private List<BreadcrumbItem> _breadcrumbs = [];

    /// <summary>The team shown, from the route (<c>/teams/{TeamId}</c>); one the caller is not a member of shows "Team not found".</summary>
    [Parameter]
    public int TeamId { get; set; }

    /// <summary><c>?joined=1</c> after an invite link made the caller a member (<c>already</c>: they were one): a welcome line.</summary>
    [SupplyParameterFromQuery(Name = "joined")]
    public string? Joined { get; set; }

    [Inject]
    private TeamService Teams { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    protected override Task OnParametersSetAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        _team = await Teams.GetAsync(UserId, TeamId);
        _breadcrumbs = [new("Teams", "teams"), new(_team?.Name ?? "", null, disabled: true)];
        _loaded = true;
    }

    private async Task AddMemberAsync()
    {
        if (_busy || string.IsNullOrWhiteSpace(_newEmail))
            return;
        _busy = true;
        var email = _newEmail.Trim();
        if (await TryAsync(() => Teams.AddMemberAsync(UserId, TeamId, email, _newRole), $"{email} added as {_newRole}."))
            _newEmail = "";
        await LoadAsync();
        _busy = false;
    }

    private async Task ChangeRoleAsync(MemberRoleChange change)
    {
        await TryAsync(() => Teams.ChangeRoleAsync(UserId, TeamId, change.Member.UserId, change.NewRole),
            $"{change.Member.Email} is now {change.NewRole}.");
        await LoadAsync();
    }

    private async Task RemoveAsync(TeamMemberView member)
    {
        var you = member.UserId == UserId;
        var confirmed = await ConfirmDialog.AskAsync(Dialogs, "Remove member",
            you ? $"Remove yourself from {_team?.Name}? You will lose access to its projects."
                : $"Remove {member.Email} from {_team?.Name}? They will lose access to its projects.",
            "Remove", Color.Error);
        if (!confirmed)
            return;
        if (await TryAsync(() => Teams.RemoveMemberAsync(UserId, TeamId, member.UserId), $"{member.Email} removed.", doneOnNextPage: you) && you)
            Navigation.NavigateTo("teams");
        else
            await LoadAsync();
    }
}
