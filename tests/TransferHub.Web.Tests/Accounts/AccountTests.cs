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

/// <summary>Registration's refusals in plain sentences under their fields (its own database: it registers accounts).</summary>
public sealed class RegistrationErrorTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    private const string Password = "Correct-horse-9";

    [Fact]
    public async Task RegisteringATakenEmailOrAWeakPasswordSaysWhatToDoUnderTheFieldNotIdentitysWording()
    {
        // QA 2026-11-30: "Error: Passwords must have at least one non alphanumeric character., …" and "Username '…' is
        // already taken" beside a field labelled Email.
        await new BrowserlessClient(app.CreateClient()).RegisterAsync("taken@example.com", Password);

        var (_, duplicate) = await new BrowserlessClient(app.CreateClient()).RegisterAsync("taken@example.com", Password);
        var (_, weak) = await new BrowserlessClient(app.CreateClient()).RegisterAsync("weak@example.com", "password");

        Assert.Contains("data-testid=\"email-error\">An account with this e-mail already exists: sign in instead", duplicate);
        Assert.DoesNotContain("is already taken", duplicate);
        Assert.DoesNotContain("Error:", duplicate);
        Assert.Contains("data-testid=\"password-error\">The password needs an uppercase letter, a digit and a symbol such as - or !.", weak);
        Assert.DoesNotContain("Passwords must have", weak);
        Assert.DoesNotContain("email-error", weak);
    }

    [Fact]
    public void IdentityErrorsAreSortedByFieldAndUnknownOnesKeepTheirDescription()
    {
        var describer = new IdentityErrorDescriber();
        var errors = RegistrationErrors.Of(
            [describer.DuplicateUserName("a@b.c"), describer.DuplicateEmail("a@b.c"), describer.PasswordTooShort(8), describer.PasswordRequiresLower(),
             new IdentityError { Code = "Custom", Description = "Something else." }],
            new PasswordOptions { RequiredLength = 8 });

        Assert.Equal("An account with this e-mail already exists: sign in instead (or reset its password from the sign-in page).", errors.Email);
        Assert.Equal("The password needs at least 8 characters and a lowercase letter.", errors.Password);
        Assert.Equal(["Something else."], errors.Other);
        Assert.Null(RegistrationErrors.Of([describer.InvalidEmail("x")], new PasswordOptions()).Password);
    }
}
