using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>A newcomer in a real browser: registers, creates a team and a project.</summary>
public sealed class FirstStepsTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ANewUserRegistersCreatesATeamAndAProject()
    {
        var page = await fixture.NewPageAsync();
        var email = $"ada-{Guid.NewGuid():N}@example.com"[..24] + "@example.com";

        await page.GotoAsync("Account/Register");
        await page.FillAsync("#Input\\.Email", email);
        await page.FillAsync("#Input\\.Password", "Correct-horse-1");
        await page.FillAsync("#Input\\.ConfirmPassword", "Correct-horse-1");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByTestId("signed-in-user")).ToContainTextAsync(email, new() { IgnoreCase = true });

        await BrowserFixture.GoInteractiveAsync(page, "teams");
        var teamName = page.GetByLabel("New team name");
        await teamName.FillAsync("Field biologists");
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(create).ToBeEnabledAsync();
        await create.ClickAsync();
        // Creating a team opens it, with the creator as its owner.
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Field biologists" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("members-table")).ToContainTextAsync(email, new() { IgnoreCase = true });
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "team.png"), FullPage = true });

        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Garden birds");
        await page.GetByTestId("save-project").ClickAsync();
        await Expect(page.GetByTestId("projects-table")).ToContainTextAsync("Garden birds");
        await Expect(page.GetByTestId("projects-table")).ToContainTextAsync("Field biologists");
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "projects.png"), FullPage = true });
    }
}
