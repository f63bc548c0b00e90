using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>The admin registers a worker; a run is launched from a dataset, its chart grows live, its confusion matrix
/// opens the images of a cell, and runs are compared.</summary>
public sealed class TrainingJourneyTests(BrowserAndUnregisteredWorkerFixture fixture) : IClassFixture<BrowserAndUnregisteredWorkerFixture>
{
    private static string Shot(string name) => Path.Combine(BrowserFixture.ScreenshotFolder, name);

    [Fact]
    public async Task AnAdminRegistersAWorkerThenARunTrainsLiveAndItsConfusionMatrixOpensItsImages()
    {
        var page = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(page, "ada@example.com");

        // The admin registers the worker with its token; the web contacts it.
        await BrowserFixture.GoInteractiveAsync(page, "admin/workers");
        await page.GetByLabel("Name").FillAsync("cpu-box");
        await page.GetByLabel("Address").FillAsync(fixture.Worker.Address.ToString());
        await page.GetByLabel("Token").FillAsync(WorkerProcess.Token);
        await page.GetByTestId("register-worker").ClickAsync();
        var row = page.GetByTestId("workers-table").Locator("tr", new() { HasText = "cpu-box" });
        await Expect(row).ToContainTextAsync("online", new() { Timeout = 30_000 });

        // A dataset laid out in train/val/test folders.
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
        await page.GetByLabel("Dataset name").FillAsync("Shirts and T-shirts");
        await page.GetByTestId("save-dataset").ClickAsync();
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "clothes.zip", MimeType = "application/zip", Buffer = Zip() });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("36 imported", new() { Timeout = 30_000 });

        // Launch: fine-tuning brings its own defaults; then a short run at a small size.
        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch-data")).ToContainTextAsync("12 train · 20 val · 4 test");
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByText("Fine-tune (train the last stages too)").ClickAsync();
        await Expect(page.GetByLabel("Learning rate")).ToHaveValueAsync("0.001");
        await page.GetByLabel("Epochs", new() { Exact = true }).FillAsync("6");
        await page.GetByLabel("Image size (px)").FillAsync("64");
        await page.GetByLabel("Early-stopping patience (0 = off)").FillAsync("0");
        await page.GetByLabel("Early-stopping patience (0 = off)").BlurAsync();
        await Expect(page.GetByTestId("launch-summary")).ToContainTextAsync("of 6 epoch(s)");
        await BrowserFixture.ScreenshotAsync(page, "launch.png");
        await page.GetByTestId("launch").ClickAsync();

        // The run page: the chart grows an epoch at a time, then the run completes.
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        var trainPoints = page.Locator("[data-testid=accuracy-chart] circle[data-series='train accuracy']");
        await Expect(trainPoints).Not.ToHaveCountAsync(0, new() { Timeout = 120_000 });
        // Seen while it runs: the chart has grown part of the way and the page says so without a reload.
        await Expect(page.GetByTestId("run-status")).ToHaveTextAsync("running");
        Assert.InRange(await trainPoints.CountAsync(), 1, 5);
        await BrowserFixture.ScreenshotAsync(page, "run-live.png");
        await Expect(page.GetByTestId("run-status")).ToHaveTextAsync("completed", new() { Timeout = 120_000 });
        await Expect(trainPoints).ToHaveCountAsync(6);
        await Expect(page.GetByTestId("epoch-progress")).ToContainTextAsync("Epoch 6 of 6");
        await Expect(page.GetByTestId("accuracy")).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        await Expect(page.GetByTestId("class-score-row")).ToHaveCountAsync(2);
        await BrowserFixture.ScreenshotAsync(page, "run-completed.png");

        // Calibration (ADR 022): the temperature fitted on the 20 validation images, ECE before and after, the reliability
        // diagram of the test split and the "unknown" threshold's sentence.
        var calibration = page.GetByTestId("calibration");
        await Expect(calibration.GetByTestId("temperature")).ToHaveTextAsync(new Regex(@"^\d+(\.\d+)?$"));
        await Expect(calibration.GetByTestId("ece-before")).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        await Expect(calibration.GetByTestId("ece-after")).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        Assert.True(await calibration.Locator("[data-testid=reliability-bar-after]").CountAsync() >= 1, "the reliability diagram has no bar");
        await Expect(calibration.GetByTestId("threshold-message")).ToContainTextAsync("20 held-out predictions");
        await calibration.ScreenshotAsync(new() { Path = Shot("run-calibration.png") });
        // The owner asks for 80 % precision instead: the threshold is chosen again for it (every outcome names the target).
        await calibration.GetByLabel("Target precision (%)").FillAsync("80");
        await calibration.GetByLabel("Target precision (%)").BlurAsync();
        await calibration.GetByTestId("apply-target").ClickAsync();
        await Expect(calibration.GetByTestId("threshold-message")).ToContainTextAsync("80.0 %");
        await calibration.GetByLabel("Target precision (%)").FillAsync("95");
        await calibration.GetByLabel("Target precision (%)").BlurAsync();
        await calibration.GetByTestId("apply-target").ClickAsync();
        await Expect(calibration.GetByTestId("threshold-message")).ToContainTextAsync("95.0 %");

        // "Test an image" answers "unknown" exactly when the top class's probability is below the threshold shown above.
        var threshold = (await calibration.GetByTestId("threshold").TextContentAsync())!.Trim();
        var unseen = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", "shirt")).Order(StringComparer.Ordinal).Skip(30).First();
        await (await BrowserFixture.FileInputAsync(page, "input.predict-input")).SetInputFilesAsync(unseen);
        var top = page.GetByTestId("prediction").First;
        await Expect(top).ToBeVisibleAsync(new() { Timeout = 60_000 });
        static double Fraction(string text) => double.Parse(Regex.Match(text, @"\d+(\.\d+)?").Value, System.Globalization.CultureInfo.InvariantCulture) / 100;
        var topProbability = Fraction((await top.Locator("span").Last.TextContentAsync())!);
        var unknown = threshold != "—" && topProbability < Fraction(threshold);
        await Expect(page.GetByTestId(unknown ? "predict-unknown" : "predict-class")).ToBeVisibleAsync();
        await page.GetByTestId("predict-panel").ScreenshotAsync(new() { Path = Shot("predict-answer.png") });

        // A cell of the confusion matrix opens its test images.
        var cell = page.Locator("[data-testid=confusion-matrix] td.clickable").First;
        var count = int.Parse((await cell.TextContentAsync())!.Trim());
        await cell.ClickAsync();
        await Expect(page.GetByTestId("cell-image")).ToHaveCountAsync(count);
        await BrowserFixture.ScreenshotAsync(page, "confusion-cell.png", fullPage: false);
        await page.GetByTestId("close-cell").ClickAsync();

        // The PDF report carries the accuracy the page shows.
        var accuracy = Regex.Match((await page.GetByTestId("accuracy").TextContentAsync())!, @"\d+(\.\d)?").Value;
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("download-pdf").ClickAsync());
        var pdfPath = Shot("run-report.pdf");
        await download.SaveAsAsync(pdfPath);
        Assert.Equal("%PDF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(pdfPath), 0, 4));
        using (var pdftotext = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("pdftotext", [pdfPath, "-"]) { RedirectStandardOutput = true })!)
        {
            var text = await pdftotext.StandardOutput.ReadToEndAsync();
            await pdftotext.WaitForExitAsync();
            Assert.Contains($"{accuracy}%", text);
            Assert.Contains("Shirts and T-shirts", text);
        }

        // The project's runs: pick this one and compare.
        await page.GetByRole(AriaRole.Link, new() { Name = "Runs", Exact = true }).First.ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("run-accuracy")).ToHaveCountAsync(1);
        await page.Locator("[data-testid=runs-table] tbody input[type=checkbox]").First.CheckAsync();
        await page.GetByTestId("compare").ClickAsync();
        await Expect(page.GetByTestId("compared-run")).ToHaveCountAsync(1);
        await BrowserFixture.ScreenshotAsync(page, "runs-compare.png");
    }

    /// <summary>Shirts and T-shirts (alike enough for a 6-epoch run to err), 6 train / 10 val / 2 test each: 20 validation
    /// images, enough to fit a temperature and choose an "unknown" threshold.</summary>
    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var cls in new[] { "shirt", "tshirt" })
            {
                var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls)).Order(StringComparer.Ordinal).Take(18).ToList();
                for (var i = 0; i < files.Count; i++)
                    zip.CreateEntryFromFile(files[i], $"{(i < 6 ? "train" : i < 16 ? "val" : "test")}/{cls}/{Path.GetFileName(files[i])}");
            }
        return buffer.ToArray();
    }
}
