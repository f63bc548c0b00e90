using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Components.Pages;

/// <summary>Signed out: what the product is, with register / log in. Signed in: the user's teams and projects.</summary>
public partial class Home
{
    private static readonly (string Icon, string Title, string Text)[] Features =
    [
        (Icons.Material.Filled.Groups, "Teams and projects", "Work together with owners, editors and viewers. Nothing is visible outside the team that owns it."),
        (Icons.Material.Filled.PhotoLibrary, "Curated datasets", "Folder-per-class uploads, labels, splits and duplicate checks, with a test split you can freeze."),
        (Icons.Material.Filled.Memory, "Your own workers", "Training runs on GPU or CPU workers you connect; progress streams live to every open page."),
    ];

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private string? _userId;
    private IReadOnlyList<TeamSummary>? _teams;
    private IReadOnlyList<ProjectSummary>? _projects;

    /// <summary>Who is looking (cascaded): an anonymous visitor gets the product page, a signed-in user their teams and projects. Read once, on initialisation.</summary>
    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    private TeamService Teams { get; set; } = default!;

    [Inject]
    private ProjectService Projects { get; set; } = default!;

    /// <summary>Someone with no team yet: new here (whatever they did before, there is nothing to come back to).</summary>
    private bool IsNewcomer => _teams is { Count: 0 };

    private string Greeting => _teams is null ? "Welcome" : IsNewcomer ? "Welcome to TransferHub" : "Welcome back";

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthenticationState).User;
        if (user.Identity?.IsAuthenticated != true)
            return;
        _userId = user.GetUserId();
        _teams = await Teams.ListAsync(_userId);
        _projects = await Projects.ListAsync(_userId);
    }
}
