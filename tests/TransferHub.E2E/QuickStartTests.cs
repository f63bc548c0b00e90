using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>The README's promise: on a fresh installation a newcomer signs in as the demo account and trains the
/// sample with the launch form's defaults, without changing anything; then sees where the model looked (Grad-CAM heatmaps
/// of an auto-mode model: two pooled stages and the test-time flip).</summary>
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

        // A mistake's cell (or the first cell when there is none): the label's heatmap beside the prediction's.
        var cells = await page.Locator("td.clickable[data-testid^=cell-]").EvaluateAllAsync<string[]>("cs => cs.map(c => c.dataset.testid)");
        var mistake = cells.FirstOrDefault(c => c.Split('-')[1] != c.Split('-')[2]);
        await page.GetByTestId(mistake ?? cells[0]).ClickAsync();
        await page.GetByTestId("heatmaps-toggle").CheckAsync();
        var pair = page.GetByTestId("cell-heatmaps").First.Locator("img");
        await Expect(pair).ToHaveCountAsync(mistake is null ? 1 : 2);
        foreach (var heatmap in await pair.AllAsync())
        {
            await Expect(heatmap).ToHaveJSPropertyAsync("complete", true, new() { Timeout = 60_000 });
            Assert.True(await heatmap.EvaluateAsync<bool>("i => i.naturalWidth > 0"), "a heatmap did not load");
        }
        await page.WaitForTimeoutAsync(500); // the other tiles' heatmaps
        await BrowserFixture.ScreenshotAsync(page, "heatmaps-cell.png", fullPage: false, hideSnackbars: true);
        await page.GetByTestId("close-cell").ClickAsync();

        // Test an image: the predicted class's heatmap, then the true class's beside it.
        var file = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", "bag")).Order(StringComparer.Ordinal).Last();
        await (await BrowserFixture.FileInputAsync(page, "input.predict-input")).SetInputFilesAsync(file);
        await Expect(page.GetByTestId("predict-heatmap")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        var predicted = (await page.GetByTestId("prediction").First.Locator("span").First.TextContentAsync())!.Trim();
        await page.GetByTestId("predict-true-class").ClickAsync();
        var options = page.Locator(".mud-popover-open .mud-list-item");
        await options.Filter(new() { HasNotText = predicted }).First.ClickAsync();
        await Expect(page.GetByTestId("predict-heatmap")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        // Below the run's "unknown" threshold the top class is named the most probable, not the prediction.
        var role = await page.GetByTestId("predict-unknown").CountAsync() > 0 ? "most probable" : "predicted";
        await Expect(page.GetByTestId("predict-heatmap").Last).ToContainTextAsync($"{role}: {predicted}");
        await page.GetByTestId("predict-panel").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "heatmaps-test-an-image.png", fullPage: false, hideSnackbars: true);
    }
}
