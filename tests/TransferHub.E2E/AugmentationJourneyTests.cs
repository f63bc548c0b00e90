using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>Issue 14 §2: augmentation chosen in the preview reaches training. The launch form opens the preview with its
/// settings (image size and resize mode included); rotation and grayscale set there come back with "Use these settings",
/// and the launched run shows them among its settings.</summary>
public sealed class AugmentationJourneyTests(BrowserWithWorkerFixture fixture) : IClassFixture<BrowserWithWorkerFixture>
{
    [Fact]
    public async Task RotationAndGrayscaleChosenInThePreviewAreWhatTheLaunchedRunShowsItUses()
    {
        var page = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(page, "augment@example.com");
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync("Lab");
        var createTeam = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Clothes");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Clothes" }).ClickAsync();
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Bags and sandals");
        await page.GetByTestId("save-dataset").ClickAsync();
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "clothes.zip", MimeType = "application/zip", Buffer = Zip() });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("16 imported", new() { Timeout = 30_000 });
        var datasetUrl = page.Url;

        // The launch form, fine-tuning at 64 px with a centre crop: every augmentation setting is on the form.
        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByText("Fine-tune (train the last stages too)").ClickAsync();
        await page.GetByLabel("Epochs", new() { Exact = true }).FillAsync("2");
        await page.GetByLabel("Early-stopping patience (0 = off)").FillAsync("0");
        await page.GetByLabel("Image size (px)").FillAsync("64");
        await page.GetByLabel("Image size (px)").BlurAsync();
        await page.GetByLabel("Centre-crop to a square (instead of squashing)").CheckAsync();
        var form = page.GetByTestId("launch-augmentation");
        await Expect(form.GetByTestId("aug-rotation")).ToHaveValueAsync("10");
        await Expect(form.GetByTestId("aug-grayscale")).ToHaveValueAsync("0");
        await BrowserFixture.ScreenshotAsync(page, "augmentation-launch-form.png", hideSnackbars: true);

        // One click opens the preview with the form's settings.
        await form.GetByTestId("open-preview").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await Expect(dialog.GetByTestId("preview-position")).ToHaveTextAsync("Image 1 of 16", new() { Timeout = 30_000 });
        await Expect(dialog.GetByTestId("preview-image-size")).ToHaveValueAsync("64");
        await Expect(dialog.GetByTestId("preview-center-crop")).ToBeCheckedAsync();
        await dialog.GetByTestId("aug-rotation").FillAsync("45");
        await dialog.GetByTestId("aug-grayscale").FillAsync("0.5");
        await dialog.GetByTestId("aug-grayscale").BlurAsync();
        await dialog.GetByTestId("preview-next").ClickAsync();
        await Expect(dialog.GetByTestId("preview-position")).ToHaveTextAsync("Image 2 of 16");
        await dialog.GetByTestId("preview").ClickAsync();
        var variants = dialog.Locator("[data-testid=preview-grid] img");
        await Expect(variants).ToHaveCountAsync(8, new() { Timeout = 60_000 });
        await Expect(dialog.GetByTestId("preview-caption")).ToContainTextAsync("64 px, centre crop");
        await Expect(dialog.GetByTestId("preview-caption")).ToContainTextAsync("rotation ±45°");
        await Expect(dialog.GetByTestId("preview-caption")).ToContainTextAsync("grayscale p = 0.5");
        await Expect(dialog.GetByTestId("preview-stale")).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(page, "augmentation-preview.png", fullPage: false);

        // Any change makes the variants stale until they are rendered again.
        await dialog.GetByTestId("aug-saturation").FillAsync("0.1");
        await dialog.GetByTestId("aug-saturation").BlurAsync();
        await Expect(dialog.GetByTestId("preview-stale")).ToBeVisibleAsync();
        await Expect(dialog.GetByTestId("preview-grid")).ToHaveAttributeAsync("data-stale", "true");
        await BrowserFixture.ScreenshotAsync(page, "augmentation-preview-stale.png", fullPage: false);
        await dialog.GetByTestId("preview").ClickAsync();
        await Expect(dialog.GetByTestId("preview-stale")).ToHaveCountAsync(0, new() { Timeout = 60_000 });
        await Expect(dialog.GetByTestId("preview-caption")).ToContainTextAsync("saturation ±0.1");

        // "Use these settings" brings them back to the form.
        await dialog.GetByTestId("use-preview-settings").ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(form.GetByTestId("aug-rotation")).ToHaveValueAsync("45");
        await Expect(form.GetByTestId("aug-grayscale")).ToHaveValueAsync("0.5");
        await Expect(form.GetByTestId("aug-saturation")).ToHaveValueAsync("0.1");

        // A value the worker would refuse is named at its field and nothing can be queued until it is fixed.
        await form.GetByTestId("aug-rotation").FillAsync("400");
        await form.GetByTestId("aug-rotation").BlurAsync();
        await Expect(page.GetByTestId("launch-problems")).ToContainTextAsync("Rotation must be 0 to 180 degrees; got 400.");
        await Expect(page.GetByTestId("launch")).ToBeDisabledAsync();
        await form.GetByTestId("aug-rotation").FillAsync("45");
        await form.GetByTestId("aug-rotation").BlurAsync();
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync();
        await page.GetByTestId("launch").ClickAsync();

        // The run shows the augmentation it trains with.
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        var settings = page.GetByTestId("run-settings");
        await Expect(settings).ToContainTextAsync("rotation ±45°", new() { Timeout = 30_000 });
        await Expect(settings).ToContainTextAsync("grayscale p = 0.5");
        await Expect(settings).ToContainTextAsync("saturation ±0.1");
        await Expect(settings).ToContainTextAsync("64 px, centre crop");
        await BrowserFixture.ScreenshotAsync(page, "augmentation-run-settings.png", hideSnackbars: true);

        // The dataset's own preview page hands its settings to the launch form too.
        await BrowserFixture.GoInteractiveAsync(page, datasetUrl + "/augmentations");
        await page.GetByTestId("aug-rotation").FillAsync("30");
        await page.GetByTestId("preview-image-size").FillAsync("96");
        await page.GetByTestId("preview-image-size").BlurAsync();
        await BrowserFixture.ScreenshotAsync(page, "augmentation-preview-page.png", hideSnackbars: true);
        await page.GetByTestId("train-with-preview").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+/train\?preview="));
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch-augmentation").GetByTestId("aug-rotation")).ToHaveValueAsync("30", new() { Timeout = 30_000 });
        await Expect(page.GetByLabel("Image size (px)")).ToHaveValueAsync("96");
        await Expect(page.GetByLabel("Fine-tune (train the last stages too)")).ToBeCheckedAsync();
    }

    /// <summary>Bags and sandals, 8 each, 4 train / 2 val / 2 test per class.</summary>
    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var cls in new[] { "bag", "sandal" })
            {
                var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls)).Order(StringComparer.Ordinal).Take(8).ToList();
                for (var i = 0; i < files.Count; i++)
                    zip.CreateEntryFromFile(files[i], $"{(i < 4 ? "train" : i < 6 ? "val" : "test")}/{cls}/{Path.GetFileName(files[i])}");
            }
        return buffer.ToArray();
    }
}
