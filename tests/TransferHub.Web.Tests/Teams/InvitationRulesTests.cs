using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Tests.Teams;

/// <summary>The rules of invite links on their own (issue 14 item 11): expiry, one use, revocation, another team's link.</summary>
public sealed class InvitationRulesTests
{
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    private static TeamInvitation Link(int teamId = 1, int days = 7) => new()
    {
        TeamId = teamId, TokenHash = new string('a', 64), Hint = "thi_abc…", Role = TeamRole.Editor, CreatedAt = Now, ExpiresAt = InvitationRules.ExpiryOf(Now, days),
    };

    [Fact]
    public void ALinkIsOpenUntilItExpiresAndThenSaysWhen()
    {
        var link = Link(days: 1);

        Assert.Equal(InvitationState.Open, InvitationRules.StateOf(link, Now.AddHours(23)));
        Assert.Null(InvitationRules.WhyNotUsable(link, Now.AddHours(23)));
        Assert.Equal(InvitationState.Expired, InvitationRules.StateOf(link, Now.AddDays(1)));
        Assert.Equal("This invite link expired on 2026-12-01 12:00 UTC. Ask a team owner for a new one.", InvitationRules.WhyNotUsable(link, Now.AddDays(2)));
    }

    [Fact]
    public void AUsedLinkCannotBeUsedAgainEvenBeforeItExpires()
    {
        var link = Link();
        link.UsedAt = Now.AddMinutes(5);

        Assert.Equal(InvitationState.Used, InvitationRules.StateOf(link, Now.AddMinutes(6)));
        Assert.Contains("already been used", InvitationRules.WhyNotUsable(link, Now.AddMinutes(6)));
    }

    [Fact]
    public void ARevokedLinkIsRevokedWhateverElseHappenedAndCannotBeRevokedTwice()
    {
        var link = Link();
        InvitationRules.RequireRevocable(link, teamId: 1, Now);
        link.RevokedAt = Now.AddMinutes(1);

        Assert.Equal(InvitationState.Revoked, InvitationRules.StateOf(link, Now.AddDays(30)));
        Assert.Contains("revoked", InvitationRules.WhyNotUsable(link, Now.AddMinutes(2)));
        Assert.Contains("already revoked", Assert.Throws<RuleViolationException>(() => InvitationRules.RequireRevocable(link, 1, Now.AddMinutes(2))).Message);
    }

    [Fact]
    public void AnotherTeamsLinkIsNotFoundForAnOwnerManagingTheirOwnTeam()
    {
        var theirs = Link(teamId: 2);

        Assert.Equal("Invite link not found.", Assert.Throws<NotFoundException>(() => InvitationRules.RequireRevocable(theirs, teamId: 1, Now)).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(-7)]
    public void ALifetimeOutsideOneToThirtyDaysIsRefusedByField(int days)
    {
        var refused = Assert.Throws<InvalidInputException>(() => InvitationRules.ExpiryOf(Now, days));
        Assert.Equal("days", Assert.Single(refused.Problems).Field);
    }

    [Fact]
    public void SecretsAreUrlSafeUniqueAndStoredOnlyAsTheirHash()
    {
        var a = InvitationRules.NewSecret();
        var b = InvitationRules.NewSecret();

        Assert.NotEqual(a, b);
        Assert.Matches("^thi_[A-Za-z0-9_-]{43}$", a);
        Assert.Equal(64, InvitationRules.Hash(a).Length);
        Assert.NotEqual(InvitationRules.Hash(a), InvitationRules.Hash(b));
        Assert.Equal(a[..10] + "…", InvitationRules.HintOf(a));
    }

    [Theory]
    [InlineData("invite/thi_abcdefghijklmnopqrstuvwxyz0123", "thi_abcdefghijklmnopqrstuvwxyz0123")]
    [InlineData("/invite/thi_abcdefghijklmnopqrstuvwxyz0123", "thi_abcdefghijklmnopqrstuvwxyz0123")]
    [InlineData("invite/thi_short", null)]
    [InlineData("https://evil.example/invite/thi_abcdefghijklmnopqrstuvwxyz0123", null)]
    [InlineData("projects/3", null)]
    [InlineData(null, null)]
    public void OnlyAnInvitePageAsReturnUrlUsesALinkOnSignIn(string? returnUrl, string? secret) =>
        Assert.Equal(secret, InvitationRules.SecretInReturnUrl(returnUrl));
}
