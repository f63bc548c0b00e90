using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Api;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Api;

/// <summary>Personal access tokens: made and revoked by their owner, stored hashed, and the only way into the API.</summary>
public sealed class PersonalAccessTokenTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    private Task<T> Tokens<T>(Func<PersonalAccessTokenService, Task<T>> call) =>
        app.InScopeAsync(s => call(s.GetRequiredService<PersonalAccessTokenService>()));

    [Fact]
    public async Task ANewTokenIsShownOnceAndOnlyItsHashIsStored()
    {
        var s = await TeamScenario.CreateAsync(app);

        var created = await Tokens(t => t.CreateAsync(s.OwnerId, "  nightly retrain  ", DateTime.UtcNow.AddDays(30)));

        Assert.Matches("^thp_[A-Za-z0-9_-]{43}$", created.Secret);
        Assert.Equal("nightly retrain", created.Token.Name);
        Assert.Equal(created.Secret[..10] + "…", created.Token.Hint);
        await using var db = await app.DbAsync();
        var row = await db.PersonalAccessTokens.AsNoTracking().SingleAsync(t => t.Id == created.Token.Id);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(created.Secret))), row.TokenHash);
        Assert.DoesNotContain(created.Secret[4..], string.Join("|", row.Name, row.TokenHash, row.Hint));
        var listed = Assert.Single(await Tokens(t => t.ListAsync(s.OwnerId)));
        Assert.Equal(created.Token, listed);
        Assert.Empty(await Tokens(t => t.ListAsync(s.EditorId)));
    }

    [Fact]
    public async Task TwoTokensNeverShareASecret()
    {
        var s = await TeamScenario.CreateAsync(app);
        var first = await Tokens(t => t.CreateAsync(s.OwnerId, "a", null));
        var second = await Tokens(t => t.CreateAsync(s.OwnerId, "a", null));
        Assert.NotEqual(first.Secret, second.Secret);
    }

    [Fact]
    public async Task ATokenNeedsANameAndAFutureExpiry()
    {
        var s = await TeamScenario.CreateAsync(app);
        await Assert.ThrowsAsync<RuleViolationException>(() => Tokens(t => t.CreateAsync(s.OwnerId, " ", null)));
        var past = await Assert.ThrowsAsync<RuleViolationException>(() => Tokens(t => t.CreateAsync(s.OwnerId, "old", DateTime.UtcNow.AddMinutes(-1))));
        Assert.Contains("future", past.Message);
    }

    [Fact]
    public async Task OnlyTheOwnerCanRevokeAToken()
    {
        var s = await TeamScenario.CreateAsync(app);
        var created = await Tokens(t => t.CreateAsync(s.OwnerId, "ci", null));

        await Assert.ThrowsAsync<NotFoundException>(() => Tokens(async t => { await t.RevokeAsync(s.EditorId, created.Token.Id); return 0; }));
        Assert.Null(Assert.Single(await Tokens(t => t.ListAsync(s.OwnerId))).RevokedAt);

        await Tokens(async t => { await t.RevokeAsync(s.OwnerId, created.Token.Id); return 0; });
        Assert.NotNull(Assert.Single(await Tokens(t => t.ListAsync(s.OwnerId))).RevokedAt);
    }

    [Fact]
    public async Task ATokenCallsTheApiAsItsOwnerAndItsUseIsNoted()
    {
        var s = await TeamScenario.CreateAsync(app);
        var created = await Tokens(t => t.CreateAsync(s.ViewerId, "reader", null));
        var client = app.BearerClient(created.Secret);

        var teams = await (await client.GetAsync("api/v1/teams")).JsonAsync();

        var team = Assert.Single(teams.EnumerateArray());
        Assert.Equal(s.TeamId, team.GetProperty("id").GetInt32());
        Assert.Equal("viewer", team.GetProperty("myRole").GetString());
        var used = Assert.Single(await Tokens(t => t.ListAsync(s.ViewerId))).LastUsedAt;
        Assert.NotNull(used);
        Assert.True(DateTime.UtcNow - used < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task MissingGarbageUnknownRevokedAndExpiredTokensAreRefusedWith401()
    {
        var s = await TeamScenario.CreateAsync(app);
        var revoked = await Tokens(t => t.CreateAsync(s.OwnerId, "revoked", null));
        await Tokens(async t => { await t.RevokeAsync(s.OwnerId, revoked.Token.Id); return 0; });
        var expiring = await Tokens(t => t.CreateAsync(s.OwnerId, "expired", DateTime.UtcNow.AddMinutes(1)));
        await using (var db = await app.DbAsync())
            await db.PersonalAccessTokens.Where(t => t.Id == expiring.Token.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(t => t.ExpiresAt, DateTime.UtcNow.AddSeconds(-1)));
        var unknown = "thp_" + new string('A', 43);

        var cases = new (string? Secret, string Why)[]
        {
            (null, "needs a personal access token"),
            ("not-a-token", "not a TransferHub personal access token"),
            (unknown, "not known"),
            (revoked.Secret, "revoked"),
            (expiring.Secret, "expired"),
        };
        foreach (var (secret, why) in cases)
        {
            var response = await app.BearerClient(secret).GetAsync("api/v1/teams");
            Assert.Contains(why, await response.ProblemAsync(HttpStatusCode.Unauthorized));
            var challenge = Assert.Single(response.Headers.WwwAuthenticate);
            Assert.Equal("Bearer", challenge.Scheme);
            Assert.Contains("realm=\"TransferHub\"", challenge.Parameter);
            if (secret is not null)
                Assert.Contains("error=\"invalid_token\"", challenge.Parameter);
        }

        var basic = app.BearerClient(null);
        basic.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("a:b"u8));
        Assert.Contains("Bearer", await (await basic.GetAsync("api/v1/teams")).ProblemAsync(HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task ASignedInBrowserSessionIsNotEnoughForTheApi()
    {
        var s = await TeamScenario.CreateAsync(app);
        var browser = await app.SignedInClientAsync(s.Email("owner"), s.OwnerId);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("teams")).StatusCode);

        await (await browser.GetAsync("api/v1/teams")).ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TheProfilePageLinksToTheTokensPage()
    {
        var s = await TeamScenario.CreateAsync(app);
        var browser = await app.SignedInClientAsync(s.Email("owner"), s.OwnerId);

        Assert.Contains("href=\"account/tokens\"", await browser.GetStringAsync("Account/Manage"));
        var page = await browser.GetStringAsync("account/tokens");
        Assert.Contains("API tokens", page);
    }
}
