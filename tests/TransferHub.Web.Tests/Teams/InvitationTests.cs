using System.Net;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Teams;

/// <summary>Invite links through the real app (issue 14 item 11): only owners make, list and revoke them (checked on the
/// server), a newcomer who registers from one lands in the team with the chosen role, and a link works once.</summary>
public sealed class InvitationTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private const string Password = "Correct-horse-9";
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private InvitationService Invitations => _services.Get<InvitationService>();

    [Fact]
    public async Task OnlyOwnersMakeListAndRevokeLinksAndAnotherTeamsLinkIsNotFound()
    {
        var s = await TeamScenario.CreateAsync(app);

        await Assert.ThrowsAsync<ForbiddenException>(() => Invitations.CreateAsync(s.EditorId, s.TeamId, TeamRole.Editor, 7));
        await Assert.ThrowsAsync<ForbiddenException>(() => Invitations.CreateAsync(s.ViewerId, s.TeamId, TeamRole.Viewer, 7));
        await Assert.ThrowsAsync<NotFoundException>(() => Invitations.CreateAsync(s.OutsiderId, s.TeamId, TeamRole.Owner, 7));
        await Assert.ThrowsAsync<ForbiddenException>(() => Invitations.ListAsync(s.EditorId, s.TeamId));
        await Assert.ThrowsAsync<NotFoundException>(() => Invitations.ListAsync(s.OutsiderId, s.TeamId));
        await Assert.ThrowsAsync<InvalidInputException>(() => Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Editor, 90));

        var made = await Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Viewer, 1);
        Assert.Equal(InvitationState.Open, Assert.Single(await Invitations.ListAsync(s.OwnerId, s.TeamId)).State);
        await Assert.ThrowsAsync<ForbiddenException>(() => Invitations.RevokeAsync(s.EditorId, s.TeamId, made.Invitation.Id));
        // The outsider owns another team: naming their own team does not reach this team's link.
        await Assert.ThrowsAsync<NotFoundException>(() => Invitations.RevokeAsync(s.OutsiderId, s.OutsiderTeamId, made.Invitation.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => Invitations.RevokeAsync(s.OutsiderId, s.TeamId, made.Invitation.Id));
        Assert.Equal(InvitationState.Open, Assert.Single(await Invitations.ListAsync(s.OwnerId, s.TeamId)).State);

        await using var db = await app.DbAsync();
        var stored = await db.TeamInvitations.SingleAsync(i => i.Id == made.Invitation.Id);
        Assert.Equal(InvitationRules.Hash(made.Secret), stored.TokenHash);
        Assert.DoesNotContain(made.Secret, stored.TokenHash + stored.Hint); // the secret itself is never stored
    }

    [Fact]
    public async Task ANewcomerWhoRegistersFromALinkLandsInTheTeamWithItsRoleAndTheLinkIsSpent()
    {
        var s = await TeamScenario.CreateAsync(app);
        var made = await Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Editor, 7);
        var email = $"invitee-{s.Tag}@example.com";

        var browser = new BrowserlessClient(app.CreateClient());
        var offer = await browser.GetAsync(made.Path);
        Assert.Contains($"Join Team {s.Tag}", offer);
        var registerPage = await browser.GetAsync($"/Account/Register?ReturnUrl={Uri.EscapeDataString(made.Path)}");
        Assert.Contains("Once registered, you join the team", registerPage);
        var (landed, html) = await browser.SubmitAsync($"/Account/Register?ReturnUrl={Uri.EscapeDataString(made.Path)}", BrowserlessClient.Named("register"),
            new Dictionary<string, string> { ["Input.Email"] = email, ["Input.Password"] = Password, ["Input.ConfirmPassword"] = Password });

        Assert.Equal($"/teams/{s.TeamId}", landed.AbsolutePath);
        Assert.Contains($"Welcome to Team {s.Tag}: you joined as editor.", html);
        var newcomer = await UserIdAsync(email);
        var team = await _services.Teams.GetAsync(newcomer, s.TeamId);
        Assert.Equal(TeamRole.Editor, team!.MyRole);
        var spent = Assert.Single(await Invitations.ListAsync(s.OwnerId, s.TeamId));
        Assert.Equal((InvitationState.Used, email), (spent.State, spent.UsedBy));

        // Reuse: a second newcomer with the same link gets an account, not the team, and the invite page says why.
        var second = new BrowserlessClient(app.CreateClient());
        var (where, _) = await second.SubmitAsync($"/Account/Register?ReturnUrl={Uri.EscapeDataString(made.Path)}", BrowserlessClient.Named("register"),
            new Dictionary<string, string> { ["Input.Email"] = $"second-{s.Tag}@example.com", ["Input.Password"] = Password, ["Input.ConfirmPassword"] = Password });
        Assert.Equal("/" + made.Path, where.AbsolutePath);
        Assert.Contains("already been used", await second.GetAsync(made.Path));
        Assert.Null(await _services.Teams.GetAsync(await UserIdAsync($"second-{s.Tag}@example.com"), s.TeamId));
    }

    [Fact]
    public async Task AnExistingAccountJoinsBySigningInFromTheLinkAndAMemberLeavesItUnused()
    {
        var s = await TeamScenario.CreateAsync(app);
        var made = await Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Viewer, 7);

        // Already a member: nothing changes and the link stays open for the person it was meant for.
        var already = await Invitations.AcceptAsync(s.EditorId, made.Secret);
        Assert.True(already.AlreadyMember);
        Assert.Equal(TeamRole.Editor, (await _services.Teams.GetAsync(s.EditorId, s.TeamId))!.MyRole);
        Assert.Equal(InvitationState.Open, Assert.Single(await Invitations.ListAsync(s.OwnerId, s.TeamId)).State);

        var email = $"existing-{s.Tag}@example.com";
        var browser = new BrowserlessClient(app.CreateClient());
        await browser.RegisterAsync(email, Password);
        await browser.LogOutAsync();
        var (landed, _) = await browser.SubmitAsync($"/Account/Login?ReturnUrl={Uri.EscapeDataString(made.Path)}", BrowserlessClient.Named("login"),
            new Dictionary<string, string> { ["Input.Email"] = email, ["Input.Password"] = Password });

        Assert.Equal($"/teams/{s.TeamId}", landed.AbsolutePath);
        Assert.Equal(TeamRole.Viewer, (await _services.Teams.GetAsync(await UserIdAsync(email), s.TeamId))!.MyRole);
    }

    [Fact]
    public async Task ExpiredRevokedAndUnknownLinksAreRefusedWithTheReason()
    {
        var s = await TeamScenario.CreateAsync(app);
        var expired = await Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Editor, 1);
        var revoked = await Invitations.CreateAsync(s.OwnerId, s.TeamId, TeamRole.Editor, 7);
        await using (var db = await app.DbAsync())
        {
            var row = await db.TeamInvitations.SingleAsync(i => i.Id == expired.Invitation.Id);
            row.ExpiresAt = DateTime.UtcNow.AddMinutes(-1);
            await db.SaveChangesAsync();
        }
        await Invitations.RevokeAsync(s.OwnerId, s.TeamId, revoked.Invitation.Id);
        var joiner = await app.CreateUserAsync($"joiner-{s.Tag}@example.com");

        Assert.Contains("expired", (await Assert.ThrowsAsync<RuleViolationException>(() => Invitations.AcceptAsync(joiner, expired.Secret))).Message);
        Assert.Contains("revoked", (await Assert.ThrowsAsync<RuleViolationException>(() => Invitations.AcceptAsync(joiner, revoked.Secret))).Message);
        await Assert.ThrowsAsync<NotFoundException>(() => Invitations.AcceptAsync(joiner, InvitationRules.NewSecret()));
        Assert.Null(await _services.Teams.GetAsync(joiner, s.TeamId));
        Assert.Contains("no longer works", await new BrowserlessClient(app.CreateClient()).GetAsync(revoked.Path));
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("invite/thi_unknown-link-0000000000000000")).StatusCode);
        Assert.Equal([InvitationState.Revoked, InvitationState.Expired], (await Invitations.ListAsync(s.OwnerId, s.TeamId)).Select(i => i.State));
    }

    private async Task<string> UserIdAsync(string email)
    {
        await using var db = await app.DbAsync();
        return await db.Users.Where(u => u.Email == email).Select(u => u.Id).SingleAsync();
    }
}
