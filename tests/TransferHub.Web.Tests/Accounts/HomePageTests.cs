using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Accounts;

/// <summary>The signed-in home page greets newcomers as new and members as returning.</summary>
public sealed class HomePageTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    [Fact]
    public async Task AMemberOfATeamIsWelcomedBackAndSomeoneWithoutATeamIsShownTheFirstSteps()
    {
        var s = await TeamScenario.CreateAsync(app);
        var member = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);
        var loner = await app.CreateUserAsync($"loner-{s.Tag}@example.com");
        var newcomer = await app.SignedInClientAsync($"loner-{s.Tag}@example.com", loner);

        var back = await member.GetStringAsync("/");
        var first = await newcomer.GetStringAsync("/");

        Assert.Contains("Welcome back", back);
        Assert.DoesNotContain("data-testid=\"first-steps\"", back);
        Assert.Contains("Welcome to TransferHub", first);
        Assert.Contains("data-testid=\"first-steps\"", first);
    }
}
