using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>Issue 14 items 7 and 10 in a real browser: two images (and a text file) tested at once on a run, each with its
/// own card (top classes and Grad-CAM heatmap; the text file says which file and why), an image pasted from the clipboard;
/// then a named ensemble of the two runs made through its confirmation, its members' accuracies beside its own, and two
/// images tested at once with the ensemble.</summary>
public sealed class EnsembleAndTestImagesJourneyTests(BrowserWithWorkerFixture fixture) : IClassFixture<BrowserWithWorkerFixture>
{
    private static string Fashion(string cls, int index) =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls)).Order(StringComparer.Ordinal).ElementAt(index);

    [Fact]
    public async Task TwoImagesAreTestedAtOnceAndANamedEnsembleIsMadeThroughItsConfirmation()
    {
        var page = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(page, "enzo@example.com");
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync("Ensemble lab");
        var createTeam = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Shoes");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Shoes" }).ClickAsync();
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Bags and sneakers");
        await page.GetByTestId("save-dataset").ClickAsync();
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload
        {
            Name = "clothes.zip", MimeType = "application/zip", Buffer = Zip(),
        });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("20 imported", new() { Timeout = 30_000 });

        // Two quick feature-extraction runs (two seeds).
        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByText("Feature extraction (frozen backbone, fast)").ClickAsync();
        await page.GetByLabel("Epochs", new() { Exact = true }).FillAsync("3");
        await page.GetByLabel("Image size (px)").FillAsync("64");
        await page.GetByLabel(new Regex("^Repeat with N seeds")).FillAsync("2");
        await page.GetByLabel(new Regex("^Repeat with N seeds")).BlurAsync();
        await page.GetByLabel("Early-stopping patience (0 = off)").FillAsync("0");
        await page.GetByLabel("Early-stopping patience (0 = off)").BlurAsync();
        await Expect(page.GetByTestId("launch-problems")).ToHaveCountAsync(0);
        await page.GetByTestId("launch").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+/runs$"));
        var runsPath = new Uri(page.Url).PathAndQuery.TrimStart('/');
        foreach (var run in new[] { "Run #1", "Run #2" })
        {
            await BrowserFixture.GoInteractiveAsync(page, runsPath);
            await page.GetByRole(AriaRole.Link, new() { Name = run, Exact = true }).ClickAsync();
            await Expect(page.GetByTestId("run-title")).ToHaveTextAsync(new Regex($"^{run}"));
            await Expect(page.GetByTestId("run-status")).ToHaveTextAsync("completed", new() { Timeout = 180_000 });
        }

        // Run #2: a sneaker, a bag and a text file at once. Each image gets its own card with its classes and heatmap;
        // the text file's card says which file and why, and does not stop the others.
        await Expect(page.GetByTestId("predict-limits")).ToContainTextAsync("Up to 10 images at a time, 20 MB each");
        await (await BrowserFixture.FileInputAsync(page, "input.predict-input")).SetInputFilesAsync(
        [
            new FilePayload { Name = "sneaker.png", MimeType = "image/png", Buffer = await File.ReadAllBytesAsync(Fashion("sneaker", 30)) },
            new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "not a picture"u8.ToArray() },
            new FilePayload { Name = "bag.png", MimeType = "image/png", Buffer = await File.ReadAllBytesAsync(Fashion("bag", 30)) },
        ]);
        var cards = page.GetByTestId("predict-card");
        await Expect(cards).ToHaveCountAsync(3);
        await Expect(cards.GetByTestId("predict-file-name")).ToHaveTextAsync(["sneaker.png", "notes.txt", "bag.png"]);
        foreach (var i in new[] { 0, 2 })
        {
            await Expect(cards.Nth(i).GetByTestId("predict-heatmap")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
            await Expect(cards.Nth(i).GetByTestId("prediction")).ToHaveCountAsync(2);
            await Expect(cards.Nth(i).GetByTestId("prediction").First).ToHaveTextAsync(new Regex(@"^\s*(bag|sneaker)\s*\d+(\.\d)?\s?%\s*$"));
        }
        await Expect(cards.Nth(1).GetByTestId("predict-problem")).ToContainTextAsync("notes.txt: this is not an image");
        await Expect(cards.Nth(1).GetByTestId("prediction")).ToHaveCountAsync(0);
        await page.GetByTestId("predict-panel").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "test-images-run.png", hideSnackbars: true);

        // An image pasted from the clipboard is tested like a chosen one; pasted text (a link) is not fetched.
        var png = Convert.ToBase64String(await File.ReadAllBytesAsync(Fashion("sneaker", 31)));
        await page.EvaluateAsync("""
            b64 => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const data = new DataTransfer();
                data.items.add(new File([bytes], "image.png", { type: "image/png" }));
                document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
            }
            """, png);
        await Expect(cards).ToHaveCountAsync(1);
        await Expect(cards.GetByTestId("predict-file-name")).ToHaveTextAsync("pasted image 1.png");
        await Expect(cards.GetByTestId("predict-heatmap")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await page.EvaluateAsync("""
            () => {
                const data = new DataTransfer();
                data.setData("text/plain", "https://example.com/shoe.png");
                document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
            }
            """);
        await Expect(page.GetByTestId("predict-note")).ToContainTextAsync("links are not fetched");

        // The ensemble: offered once two runs are ticked, confirmed with the runs it combines and a name.
        await BrowserFixture.GoInteractiveAsync(page, runsPath);
        await Expect(page.GetByTestId("run-accuracy")).ToHaveCountAsync(2);
        foreach (var box in await page.Locator("[data-testid=runs-table] tbody input[type=checkbox]").AllAsync())
            await box.CheckAsync();
        await page.GetByTestId("ensemble").ClickAsync();
        var members = page.GetByTestId("ensemble-plan-member");
        await Expect(members).ToHaveCountAsync(2);
        await Expect(members.Nth(0)).ToContainTextAsync("Run #1");
        await Expect(members.Nth(1)).ToContainTextAsync("Run #2");
        await Expect(page.GetByTestId("ensemble-plan-accuracy").First).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%\s*test"));
        await Expect(page.GetByTestId("ensemble-name-input")).ToHaveValueAsync("#1 + #2");
        await page.GetByTestId("ensemble-name-input").FillAsync("Two seeds");
        await BrowserFixture.ScreenshotAsync(page, "ensemble-confirm.png", fullPage: false, hideSnackbars: true);
        await page.GetByTestId("create-ensemble").ClickAsync();

        // Its page: the name, its accuracy with each member's beside it, the members linking to their runs.
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        await Expect(page.GetByTestId("run-title")).ToHaveTextAsync("Ensemble #3 · Two seeds");
        await Expect(page.GetByTestId("ensemble-accuracy")).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        await Expect(page.GetByTestId("ensemble-member-accuracy")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("ensemble-member-link")).ToHaveTextAsync(["Run #1", "Run #2"]);
        await Expect(page.GetByTestId("ensemble-member-delta").First).ToHaveTextAsync(new Regex(@"^[+−±]\d+\.\d pts$"));

        // Two images at once with the ensemble: the mean of its members' probabilities, no heatmap of its own.
        await (await BrowserFixture.FileInputAsync(page, "input.predict-input")).SetInputFilesAsync([Fashion("sneaker", 32), Fashion("bag", 32)]);
        await Expect(cards).ToHaveCountAsync(2);
        foreach (var i in new[] { 0, 1 })
        {
            await Expect(cards.Nth(i).GetByTestId("prediction")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
            await Expect(cards.Nth(i).GetByTestId("predict-answer")).ToContainTextAsync("mean of its members");
            await Expect(cards.Nth(i).GetByTestId("ensemble-no-heatmap")).ToBeVisibleAsync();
        }
        await BrowserFixture.ScreenshotAsync(page, "ensemble-page.png", hideSnackbars: true);

        // A member's link opens its run.
        await page.GetByTestId("ensemble-member-link").First.ClickAsync();
        await Expect(page.GetByTestId("run-title")).ToHaveTextAsync(new Regex("^Run #1"));

        // Compared with the runs, the ensemble's row names its members with their accuracies.
        await BrowserFixture.GoInteractiveAsync(page, runsPath);
        await Expect(page.GetByTestId("run-accuracy")).ToHaveCountAsync(3);
        foreach (var box in await page.Locator("[data-testid=runs-table] tbody input[type=checkbox]").AllAsync())
            await box.CheckAsync();
        await page.GetByTestId("compare").ClickAsync();
        await Expect(page.GetByTestId("compared-run")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("compared-members")).ToHaveTextAsync(new Regex(@"^of\s+Run #1\s+\d+(\.\d)?\s?%,\s+Run #2\s+\d+(\.\d)?\s?%$"));
        await page.GetByTestId("comparison-table").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "ensemble-compared.png", fullPage: false, hideSnackbars: true);
    }

    /// <summary>Bags and sneakers, 6 train / 2 val / 2 test each.</summary>
    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var cls in new[] { "bag", "sneaker" })
            {
                var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls)).Order(StringComparer.Ordinal).Take(10).ToList();
                for (var i = 0; i < files.Count; i++)
                    zip.CreateEntryFromFile(files[i], $"{(i < 6 ? "train" : i < 8 ? "val" : "test")}/{cls}/{Path.GetFileName(files[i])}");
            }
        return buffer.ToArray();
    }
}
