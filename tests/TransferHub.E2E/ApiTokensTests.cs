using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>A user makes an API token in the browser, a script uses it, the user revokes it and the script is shut out.</summary>
public sealed class ApiTokensTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ATokenMadeOnTheProfileOpensTheApiUntilItIsRevoked()
    {
        var page = await fixture.NewPageAsync();
        var email = $"bo-{Guid.NewGuid():N}"[..12] + "@example.com";
        await BrowserFixture.RegisterAsync(page, email);
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync("Scripted");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create team" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Scripted" })).ToBeVisibleAsync();

        // The account pages link to the tokens page.
        await page.GotoAsync("Account/Manage");
        await page.GetByRole(AriaRole.Link, new() { Name = "API tokens" }).ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API tokens" })).ToBeVisibleAsync();

        await page.GetByLabel("Token name").FillAsync("nightly retrain");
        await page.GetByTestId("create-token").ClickAsync();
        var secretBox = page.GetByTestId("token-secret"); // MudTextField puts the attribute on its input
        await Expect(secretBox).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("^thp_"));
        var secret = await secretBox.InputValueAsync();
        var row = page.GetByTestId("tokens-table").Locator("tr", new() { HasText = "nightly retrain" });
        await Expect(row).ToContainTextAsync(secret[..10]);
        await Expect(row).ToContainTextAsync("active");
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "api-tokens.png"), FullPage = true });

        using var script = new HttpClient { BaseAddress = fixture.App.BaseAddress };
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        var teams = await script.GetAsync("api/v1/teams");
        Assert.Equal(HttpStatusCode.OK, teams.StatusCode);
        Assert.Contains("\"name\":\"Scripted\"", await teams.Content.ReadAsStringAsync());

        // Once the page is reloaded the secret is gone for good; the list shows when the token was last used.
        await BrowserFixture.GoInteractiveAsync(page, "account/tokens");
        await Expect(page.GetByTestId("token-secret")).ToHaveCountAsync(0);
        await Expect(row.Locator("td[data-label='Last used']")).Not.ToHaveTextAsync("never");
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke nightly retrain" }).ClickAsync();
        await page.GetByTestId("confirm").ClickAsync();
        await Expect(row).ToContainTextAsync("revoked");
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "api-tokens-revoked.png"), FullPage = true });

        var refused = await script.GetAsync("api/v1/teams");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", await refused.Content.ReadAsStringAsync());
    }
}
