using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>The README's promise: on a fresh installation a newcomer signs in as the demo account and trains the
/// sample with the launch form's defaults, without changing anything.</summary>
public sealed class QuickStartTests(QuickStartFixture fixture) : IClassFixture<QuickStartFixture>
{
    [Fact]
    public async Task TheDemoAccountTrainsTheSeededSampleWithTheDefaults()
    {
        var page = await fixture.Browser.NewPageAsync();
        await page.GotoAsync("Account/Login");
        await page.FillAsync("#Input\\.Email", "demo@transferhub.local");
        await page.FillAsync("#Input\\.Password", "Demo-pass-1");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByTestId("signed-in-user")).ToBeVisibleAsync();

        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sample project" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Fashion sample" }).ClickAsync();
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("160 images in 4 classes");
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "quick-start-dataset.png"), FullPage = true });

        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("auto-explanation")).ToContainTextAsync("cross-validation"); // the default: Auto
        await BrowserFixture.ScreenshotAsync(page, "quick-start-launch.png");
        await page.GetByTestId("launch").ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        // The leaderboard fills in while the run chooses (it may have chosen by the time the shot is taken).
        await Expect(page.GetByTestId("leaderboard")).ToBeVisibleAsync(new() { Timeout = 240_000 });
        await BrowserFixture.ScreenshotAsync(page, "quick-start-run-choosing.png");
        await Expect(page.GetByTestId("run-status")).ToHaveTextAsync("completed", new() { Timeout = 240_000 });
        var accuracy = double.Parse(Regex.Match((await page.GetByTestId("accuracy").TextContentAsync())!, @"\d+(\.\d)?").Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(accuracy, 70, 100); // 4 easy Fashion-MNIST classes with the pretrained backbone; chance is 25 %
        await Expect(page.GetByTestId("leaderboard-winner")).ToContainTextAsync("winner");
        await Expect(page.GetByTestId("winner-reason")).Not.ToBeEmptyAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "quick-start-run.png"), FullPage = true });
    }
}
