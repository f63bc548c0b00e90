using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Tests.Teams;

/// <summary>bUnit: what the members table offers to whom. (MudBlazor's popover service is async-disposable only,
/// hence IAsyncLifetime.)</summary>
public sealed class TeamMembersTableTests : IAsyncLifetime
{
    private static readonly TeamMemberView Owner = new("u-owner", "owner@example.com", TeamRole.Owner, DateTime.UtcNow);
    private static readonly TeamMemberView Editor = new("u-editor", "editor@example.com", TeamRole.Editor, DateTime.UtcNow);
    private static readonly TeamMemberView Viewer = new("u-viewer", "viewer@example.com", TeamRole.Viewer, DateTime.UtcNow);

    private readonly BunitContext _context = new();

    public TeamMembersTableTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public void AViewerSeesEveryRoleButNoControlsToChangeThem()
    {
        var table = Render([Owner, Editor, Viewer], canManage: false, currentUserId: Viewer.UserId);

        Assert.Empty(table.FindComponents<MudSelect<TeamRole>>());
        Assert.Empty(table.FindAll("[data-testid=remove-member]"));
        Assert.Equal([TeamRole.Owner, TeamRole.Editor, TeamRole.Viewer],
            table.FindComponents<RoleChip>().Select(c => c.Instance.Role));
        Assert.Contains("Only team owners can change members.", table.Markup);
    }

    [Fact]
    public void AnOwnerCannotDemoteOrRemoveTheLastOwnerAndIsToldWhy()
    {
        var table = Render([Owner, Editor, Viewer], canManage: true, currentUserId: Owner.UserId);

        Assert.Equal([true, false, false], table.FindComponents<MudSelect<TeamRole>>().Select(s => s.Instance.Disabled));
        Assert.Equal([true, false, false], table.FindAll("[data-testid=remove-member]").Select(b => b.HasAttribute("disabled")));
        Assert.Contains(TeamMembersTable.LastOwnerHint, table.Markup);
    }

    [Fact]
    public void WithTwoOwnersEitherOwnerMayBeDemotedOrRemoved()
    {
        var secondOwner = Editor with { Role = TeamRole.Owner };

        var table = Render([Owner, secondOwner, Viewer], canManage: true, currentUserId: Owner.UserId);

        Assert.All(table.FindComponents<MudSelect<TeamRole>>(), s => Assert.False(s.Instance.Disabled));
        Assert.All(table.FindAll("[data-testid=remove-member]"), b => Assert.False(b.HasAttribute("disabled")));
        Assert.DoesNotContain(TeamMembersTable.LastOwnerHint, table.Markup);
    }

    [Fact]
    public async Task RemoveAndRoleChangesAreReportedForTheRightMember()
    {
        TeamMemberView? removed = null;
        MemberRoleChange? changed = null;
        var table = Render([Owner, Editor, Viewer], canManage: true, currentUserId: Owner.UserId,
            onRemove: m => removed = m, onRoleChange: c => changed = c);

        table.FindAll("[data-testid=remove-member]")[2].Click();
        var editorSelect = table.FindComponents<MudSelect<TeamRole>>()[1];
        await editorSelect.InvokeAsync(() => editorSelect.Instance.SelectOption(TeamRole.Viewer));

        Assert.Equal(Viewer, removed);
        Assert.Equal(new MemberRoleChange(Editor, TeamRole.Viewer), changed);
    }

    [Fact]
    public void TheSignedInMemberIsMarked()
    {
        var table = Render([Owner, Editor], canManage: false, currentUserId: Editor.UserId);

        var rows = table.FindAll("tbody tr");
        Assert.DoesNotContain("(you)", rows[0].TextContent);
        Assert.Contains("(you)", rows[1].TextContent);
    }

    private IRenderedComponent<TeamMembersTable> Render(IReadOnlyList<TeamMemberView> members, bool canManage, string currentUserId,
        Action<TeamMemberView>? onRemove = null, Action<MemberRoleChange>? onRoleChange = null)
    {
        // The popover provider sits next to the table, as MainLayout places it.
        var host = _context.Render(builder =>
        {
            builder.OpenComponent<MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<TeamMembersTable>(1);
            builder.AddComponentParameter(2, nameof(TeamMembersTable.Members), members);
            builder.AddComponentParameter(3, nameof(TeamMembersTable.CanManage), canManage);
            builder.AddComponentParameter(4, nameof(TeamMembersTable.CurrentUserId), currentUserId);
            builder.AddComponentParameter(5, nameof(TeamMembersTable.OnRemove),
                EventCallback.Factory.Create(this, onRemove ?? (_ => { })));
            builder.AddComponentParameter(6, nameof(TeamMembersTable.OnRoleChange),
                EventCallback.Factory.Create(this, onRoleChange ?? (_ => { })));
            builder.CloseComponent();
        });
        return host.FindComponent<TeamMembersTable>();
    }
}
