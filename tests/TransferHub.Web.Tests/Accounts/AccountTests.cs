using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Accounts;

/// <summary>The account forms over real HTTP, on a database that starts without any account.</summary>
public sealed class AccountTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    private const string Password = "Correct-horse-9";

    [Fact]
    public async Task TheFirstRegisteredAccountBecomesSiteAdminAndLaterOnesDoNot()
    {
        var first = new BrowserlessClient(app.CreateClient());
        await first.RegisterAsync("first@example.com", Password);
        var second = new BrowserlessClient(app.CreateClient());
        await second.RegisterAsync("second@example.com", Password);

        Assert.True(await IsSiteAdminAsync("first@example.com"));
        Assert.False(await IsSiteAdminAsync("second@example.com"));
    }

    [Fact]
    public async Task AnAccountCanRegisterLogOutLogInAndChangeItsPassword()
    {
        const string email = "carol@example.com";
        const string newPassword = "Battery-staple-7";
        var browser = new BrowserlessClient(app.CreateClient());

        // Email confirmation is off by default: registering signs you in.
        var (_, registered) = await browser.RegisterAsync(email, Password);
        Assert.Contains("Welcome to TransferHub", registered); // not "Welcome back": they have never been here
        Assert.DoesNotContain("Welcome back", registered);
        Assert.Contains(email, registered);

        var (_, loggedOut) = await browser.LogOutAsync();
        Assert.DoesNotContain(email, loggedOut);
        Assert.Contains("Create an account", loggedOut);

        var (_, loggedIn) = await browser.LogInAsync(email, Password);
        Assert.Contains(email, loggedIn);

        var (_, changed) = await browser.SubmitAsync("/Account/Manage/ChangePassword", BrowserlessClient.Named("change-password"),
            new Dictionary<string, string>
            {
                ["Input.OldPassword"] = Password, ["Input.NewPassword"] = newPassword, ["Input.ConfirmPassword"] = newPassword,
            });
        Assert.Contains("Your password has been changed", changed);

        await browser.LogOutAsync();
        var (_, refused) = await browser.LogInAsync(email, Password);
        Assert.Contains("Invalid login attempt", refused);
        var (_, accepted) = await browser.LogInAsync(email, newPassword);
        Assert.Contains(email, accepted);
        Assert.Contains("Welcome to TransferHub", accepted); // still no team: nothing to come back to
    }

    [Fact]
    public async Task SignedOutVisitorsAreSentToTheLoginPage()
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var response = await client.GetAsync("/teams");

        Assert.Equal(System.Net.HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/Account/Login", response.Headers.Location?.PathAndQuery ?? response.Headers.Location?.ToString());
    }

    private Task<bool> IsSiteAdminAsync(string email) => app.InScopeAsync(async services =>
    {
        var users = services.GetRequiredService<UserManager<ApplicationUser>>();
        var user = await users.FindByEmailAsync(email) ?? throw new InvalidOperationException($"{email} was not registered.");
        return await users.IsInRoleAsync(user, SiteAdmin.Role);
    });
}

public sealed class AdminEmailFactory : WebAppFactory
{
    public const string AdminEmail = "boss@example.com";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Web:AdminEmail"] = AdminEmail,
        ["Web:RequireConfirmedAccount"] = "true",
    };
}

/// <summary>Configuration: Web:AdminEmail and Web:RequireConfirmedAccount.</summary>
public sealed class ConfiguredAccountTests(AdminEmailFactory app) : IClassFixture<AdminEmailFactory>
{
    [Fact]
    public async Task TheConfiguredAdminEmailBecomesSiteAdminEvenWhenItIsNotTheFirstAccount()
    {
        await app.CreateUserAsync("early@example.com");
        await app.CreateUserAsync(AdminEmailFactory.AdminEmail.ToUpperInvariant());

        var roles = await app.InScopeAsync(async services =>
        {
            var users = services.GetRequiredService<UserManager<ApplicationUser>>();
            return (await users.GetUsersInRoleAsync(SiteAdmin.Role)).Select(u => u.Email!.ToLowerInvariant()).ToList();
        });

        Assert.Equal([AdminEmailFactory.AdminEmail], roles);
    }

    [Fact]
    public async Task WithConfirmationRequiredRegisteringDoesNotSignIn()
    {
        var browser = new BrowserlessClient(app.CreateClient());

        var (url, html) = await browser.RegisterAsync("unconfirmed@example.com", "Correct-horse-9");

        Assert.Equal("/Account/RegisterConfirmation", url.AbsolutePath);
        Assert.DoesNotContain("data-testid=\"welcome\"", html);
    }
}
