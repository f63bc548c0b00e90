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
        await BrowserFixture.RegisterAsync(page, "admin@example.com");

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
        await BrowserFixture.ScreenshotAsync(page, "workers.png");

        // With a worker online, the augmentation preview of a dataset image comes from the worker's pipeline.
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync("Lab");
        var createTeam = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/teams/\d+$"));
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Clothes");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Clothes" }).ClickAsync();
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Bags");
        await page.GetByTestId("save-dataset").ClickAsync();
        var bag = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", "bag")).Order(StringComparer.Ordinal).First();
        using (var buffer = new MemoryStream())
        {
            using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            {
                System.IO.Compression.ZipFileExtensions.CreateEntryFromFile(zip, bag, "train/bag/1.png");
                // The same picture as a JPEG in the test split: a near-duplicate that leaks across splits.
                using var bitmap = SkiaSharp.SKBitmap.Decode(bag);
                using var jpeg = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
                using var entry = zip.CreateEntry("test/bag/1-copy.jpg").Open();
                jpeg.SaveTo(entry);
            }
            await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "bags.zip", MimeType = "application/zip", Buffer = buffer.ToArray() });
        }
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("2 imported");

        await page.GetByTestId("find-duplicates").ClickAsync();
        await Expect(page.GetByTestId("duplicate-group")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("leak")).ToBeVisibleAsync();
        await page.GetByTestId("duplicates-panel").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "duplicates.png", fullPage: false);
        await page.GetByTestId("keep-one").First.ClickAsync();
        await page.GetByTestId("confirm").ClickAsync();
        await Expect(page.GetByTestId("duplicates-none")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("1 images in 1 classes");

        await page.GetByTestId("preview-augmentations").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.GetByTestId("preview").ClickAsync();
        var variants = page.Locator("[data-testid=preview-grid] img");
        await Expect(variants).ToHaveCountAsync(8, new() { Timeout = 30_000 });
        var first = await variants.First.GetAttributeAsync("src");
        await page.GetByTestId("reroll").ClickAsync();
        await Expect(variants.First).Not.ToHaveAttributeAsync("src", first!, new() { Timeout = 30_000 });
        await BrowserFixture.ScreenshotAsync(page, "augmentations.png");
    }
}
