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
        await page.GetByLabel("Dataset name").FillAsync("Bags and sneakers");
        await page.GetByTestId("save-dataset").ClickAsync();
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "clothes.zip", MimeType = "application/zip", Buffer = Zip() });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("20 imported", new() { Timeout = 30_000 });

        // Launch: fine-tuning brings its own defaults; then a short run at a small size.
        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch-data")).ToContainTextAsync("12 train · 4 val · 4 test");
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
            Assert.Contains("Bags and sneakers", text);
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
