using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>The site admin sees the local worker the web app registered, tests the connection and registers another.</summary>
public sealed class AdminWorkersTests(BrowserWithWorkerFixture fixture) : IClassFixture<BrowserWithWorkerFixture>
{
    [Fact]
    public async Task TheAdminTestsTheLocalWorkerAndRegistersASecondOne()
    {
        var page = await fixture.Browser.NewPageAsync();
        await page.GotoAsync("Account/Register");
        await page.FillAsync("#Input\\.Email", "admin@example.com");
        await page.FillAsync("#Input\\.Password", "Correct-horse-1");
        await page.FillAsync("#Input\\.ConfirmPassword", "Correct-horse-1");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByTestId("signed-in-user")).ToBeVisibleAsync();

        await BrowserFixture.GoInteractiveAsync(page, "admin/workers");
        var table = page.GetByTestId("workers-table");
        await Expect(table).ToContainTextAsync("local-worker");
        await Expect(table).ToContainTextAsync("local");
        await page.GetByTestId("test-connection").First.ClickAsync();
        await Expect(page.GetByTestId("worker-state").First).ToHaveTextAsync("online", new() { Timeout = 30_000 });
        await Expect(table).ToContainTextAsync("resnet18x3-imagenet");

        await page.GetByLabel("Name").FillAsync("gpu-box");
        await page.GetByLabel("Address").FillAsync(fixture.Worker.Address.ToString());
        await page.GetByLabel("Token").FillAsync("not-the-right-token-123");
        await page.GetByTestId("register-worker").ClickAsync();
        var row = table.Locator("tr", new() { HasText = "gpu-box" });
        await Expect(row).ToContainTextAsync("offline", new() { Timeout = 30_000 });
        await Expect(row).ToContainTextAsync("refused the token");
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "workers.png"), FullPage = true });
    }
}
