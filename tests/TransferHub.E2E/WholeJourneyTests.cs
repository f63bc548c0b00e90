using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>
/// The whole product as a new team meets it, in two browsers: Ada (the first account, so site admin) and Bob. Ada
/// makes a team and adds Bob as an editor, builds a dataset from a zip, fixes a wrong label, splits and freezes the
/// test split, previews augmentations, trains a feature-extraction run and a fine-tune run while Bob watches the
/// second one live from his own browser, compares both, opens a confusion-matrix cell, downloads the PDF report and
/// tests an image. The web app has a real local worker (<see cref="BrowserWithWorkerFixture"/>).
/// </summary>
public sealed class WholeJourneyTests(BrowserWithWorkerFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserWithWorkerFixture>
{
    private static readonly string[] Classes = ["bag", "sneaker", "trouser"];
    private const int PerClass = 12;
    private const int FeatureEpochs = 8, FineTuneEpochs = 4;

    /// <summary>Training on a busy 2-core machine: minutes, not seconds, before a wait gives up.</summary>
    private static readonly LocatorAssertionsToHaveTextOptions Training = new() { Timeout = 240_000 };

    private static string Fashion(string cls) => Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls);

    private static string[] FashionFiles(string cls) => [.. Directory.GetFiles(Fashion(cls)).Order(StringComparer.Ordinal)];

    /// <summary>The sneaker that the zip puts in the bag folder: the wrong label to fix.</summary>
    private static string MislabelledName => $"bag/{Path.GetFileName(FashionFiles("sneaker")[PerClass - 1])}";

    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Where the time goes, in the test's output (slow CI machines vary).</summary>
    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0} s  {what}");

    [Fact]
    public async Task ATeamBuildsADatasetTrainsTwoRunsWatchesThemLiveComparesThemAndTestsAnImage()
    {
        // Two people, two browser contexts (own cookies). The first account registered becomes the site admin.
        var ada = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(ada, "ada@example.com");
        var bob = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(bob, "bob@example.com");
        await Expect(ada.GetByRole(AriaRole.Link, new() { Name = "Workers" })).ToBeVisibleAsync();
        await Expect(bob.GetByRole(AriaRole.Link, new() { Name = "Workers" })).ToHaveCountAsync(0);

        // Ada's team, with Bob added by email as an editor.
        await BrowserFixture.GoInteractiveAsync(ada, "teams");
        await ada.GetByLabel("New team name").FillAsync("Wardrobe lab");
        var createTeam = ada.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await ada.GetByLabel("Email of an existing account").FillAsync("bob@example.com");
        await ada.GetByTestId("new-member-role").ClickAsync();
        await ada.GetByRole(AriaRole.Option, new() { Name = "Editor" }).ClickAsync();
        var add = ada.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true });
        await Expect(add).ToBeEnabledAsync();
        await add.ClickAsync();
        await Expect(ada.GetByText("bob@example.com added as Editor.")).ToBeVisibleAsync();
        await Expect(ada.GetByTestId("members-table")).ToContainTextAsync("bob@example.com");
        await Expect(ada.GetByTestId("role-select")).ToHaveCountAsync(2);
        await BrowserFixture.ScreenshotAsync(ada, "journey-01-team.png");
        Step("team created, Bob added");

        // Bob sees the team, as an editor.
        await BrowserFixture.GoInteractiveAsync(bob, "teams");
        await Expect(bob.GetByTestId("teams-table").Locator("tr", new() { HasText = "Wardrobe lab" })).ToContainTextAsync("Editor");

        // A project and a dataset from a zip laid out class/image (no split folders). One sneaker sits in the bag folder.
        await BrowserFixture.GoInteractiveAsync(ada, "projects");
        await ada.GetByTestId("new-project").ClickAsync();
        await ada.GetByLabel("Name").First.FillAsync("Shop catalogue");
        await ada.GetByTestId("save-project").ClickAsync();
        await ada.GetByRole(AriaRole.Link, new() { Name = "Shop catalogue" }).ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        var projectUrl = new Uri(ada.Url).AbsolutePath.TrimStart('/');
        await ada.GetByTestId("new-dataset").ClickAsync();
        await ada.GetByLabel("Dataset name").FillAsync("Clothes");
        await ada.GetByTestId("save-dataset").ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        var datasetUrl = new Uri(ada.Url).AbsolutePath.TrimStart('/');
        await (await BrowserFixture.FileInputAsync(ada, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "clothes.zip", MimeType = "application/zip", Buffer = Zip() });
        var total = Classes.Length * PerClass;
        await Expect(ada.GetByTestId("import-report")).ToContainTextAsync($"{total} imported", new() { Timeout = 60_000 });
        await Expect(ada.GetByTestId("dataset-counts")).ToContainTextAsync($"{total} images in 3 classes");
        await Expect(ada.GetByTestId("class-row").Filter(new() { HasText = "bag" })).ToContainTextAsync($"{PerClass + 1}");
        await Expect(ada.GetByTestId("gallery-tile")).ToHaveCountAsync(total);

        // The sneaker in the bag folder is ticked in the gallery and relabelled.
        await ada.GetByLabel($"Select {MislabelledName}").CheckAsync();
        await Expect(ada.GetByTestId("selection-count")).ToHaveTextAsync("1 selected");
        await ada.GetByTestId("relabel-to").ClickAsync();
        await ada.GetByRole(AriaRole.Option, new() { Name = "sneaker" }).ClickAsync();
        await ada.GetByTestId("relabel").ClickAsync();
        await Expect(ada.GetByText("Relabelled 1 image(s) as sneaker.")).ToBeVisibleAsync();
        foreach (var cls in Classes)
            await Expect(ada.GetByTestId("class-row").Filter(new() { HasText = cls })).ToContainTextAsync($"{PerClass}");
        await Expect(ada.Locator($"[data-testid=gallery-tile][title='{MislabelledName}']")).ToContainTextAsync("sneaker");

        // A stratified split, then the test split is frozen.
        await ada.GetByTestId("split").ClickAsync();
        await ada.GetByTestId("confirm").ClickAsync();
        await Expect(ada.GetByText(new Regex(@"Split: \d+ train, \d+ validation, \d+ test"))).ToBeVisibleAsync();
        await ada.GetByLabel("Freeze test split").CheckAsync();
        await Expect(ada.GetByTestId("dataset-counts")).ToContainTextAsync("test split frozen");
        await ada.EvaluateAsync("window.scrollTo(0, 0)");
        await BrowserFixture.ScreenshotAsync(ada, "journey-02-dataset.png", hideSnackbars: true);
        Step("dataset uploaded, relabelled, split and frozen");

        // The augmentation preview renders variants through the worker's training pipeline.
        await ada.GetByTestId("preview-augmentations").ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/datasets/\d+/augmentations$"));
        await ada.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await ada.GetByTestId("preview").ClickAsync();
        await Expect(ada.Locator("[data-testid=preview-grid] img")).ToHaveCountAsync(8, new() { Timeout = 60_000 });
        await BrowserFixture.ScreenshotAsync(ada, "journey-03-augmentations.png", hideSnackbars: true);
        Step("augmentation preview rendered");

        // Run 1: feature extraction (the launch form defaults to auto), small and short.
        await BrowserFixture.GoInteractiveAsync(ada, datasetUrl);
        await ada.GetByTestId("train").ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/datasets/\d+/train$"));
        await Expect(ada.GetByTestId("launch-data")).ToContainTextAsync("test split frozen");
        var launch = ada.GetByTestId("launch");
        await Expect(launch).ToBeEnabledAsync(new() { Timeout = 60_000 });
        await ada.GetByText("Feature extraction (frozen backbone, fast)").ClickAsync();
        await FillLaunchFormAsync(ada, FeatureEpochs);
        await launch.ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        var featureRunUrl = new Uri(ada.Url).AbsolutePath.TrimStart('/');
        Step("feature-extraction run queued");
        await Expect(ada.GetByTestId("run-status")).ToHaveTextAsync("completed", Training);
        await Expect(ada.GetByTestId("epoch-progress")).ToContainTextAsync($"Epoch {FeatureEpochs} of {FeatureEpochs}");
        Step("feature-extraction run completed");

        // Bob keeps the project's runs open: live, like every run view.
        await BrowserFixture.GoInteractiveAsync(bob, $"{projectUrl}/runs");
        await Expect(bob.GetByTestId("run-accuracy")).ToHaveCountAsync(1);

        // Run 2: fine-tuning brings its own defaults; Ada keeps it small too.
        await BrowserFixture.GoInteractiveAsync(ada, datasetUrl);
        await ada.GetByTestId("train").ClickAsync();
        await Expect(launch).ToBeEnabledAsync(new() { Timeout = 60_000 });
        await ada.GetByText("Fine-tune (train the last stages too)").ClickAsync();
        await Expect(ada.GetByLabel("Learning rate")).ToHaveValueAsync("0.001");
        await FillLaunchFormAsync(ada, FineTuneEpochs);
        await BrowserFixture.ScreenshotAsync(ada, "journey-04-launch.png");
        await launch.ClickAsync();
        await Expect(ada).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        var runUrl = new Uri(ada.Url).AbsolutePath.TrimStart('/');
        Assert.NotEqual(featureRunUrl, runUrl);
        Step("fine-tune run queued");

        // Bob's open runs page gains the new run without a reload; he opens it (in-app navigation, same circuit).
        await Expect(bob.GetByTestId("run-accuracy")).ToHaveCountAsync(2);
        await bob.Locator($"[data-testid=runs-table] a[href='{runUrl}']").ClickAsync();
        await Expect(bob).ToHaveURLAsync(new Regex($"/{runUrl}$"));
        var bobPoints = bob.Locator("[data-testid=accuracy-chart] circle[data-series='train accuracy']");
        await Expect(bob.GetByTestId("epoch-progress")).ToContainTextAsync($"of {FineTuneEpochs}");
        var bobFirstSeen = await bobPoints.CountAsync();
        Step($"Bob opened the run page at {bobFirstSeen} of {FineTuneEpochs} epochs");
        Assert.True(bobFirstSeen < FineTuneEpochs,
            $"Bob opened the run only after its last epoch ({bobFirstSeen} points), so live updates were not observed");

        // Both pages grow an epoch at a time while Ada's page (open since the launch) shows the run running.
        var adaPoints = ada.Locator("[data-testid=accuracy-chart] circle[data-series='train accuracy']");
        await Expect(adaPoints).Not.ToHaveCountAsync(0, new() { Timeout = 240_000 });
        await BrowserFixture.ScreenshotAsync(ada, "journey-05-run-live.png");
        await Expect(bobPoints).Not.ToHaveCountAsync(bobFirstSeen, new() { Timeout = 240_000 });
        await Expect(bob.GetByTestId("run-status")).ToHaveTextAsync("completed", Training);
        await Expect(bobPoints).ToHaveCountAsync(FineTuneEpochs);
        await Expect(bob.GetByTestId("epoch-progress")).ToContainTextAsync($"Epoch {FineTuneEpochs} of {FineTuneEpochs}");
        await Expect(ada.GetByTestId("run-status")).ToHaveTextAsync("completed", Training);
        await Expect(adaPoints).ToHaveCountAsync(FineTuneEpochs);
        Step("fine-tune run completed on both pages");

        // The evaluation: accuracy on the frozen test split, a row per class, the confusion matrix.
        await Expect(ada.GetByTestId("accuracy")).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"), new() { Timeout = 60_000 });
        await Expect(ada.GetByTestId("class-score-row")).ToHaveCountAsync(Classes.Length);
        await Expect(bob.GetByTestId("accuracy")).ToHaveTextAsync((await ada.GetByTestId("accuracy").TextContentAsync())!);
        await BrowserFixture.ScreenshotAsync(ada, "journey-06-run-completed.png");

        // A confusion-matrix cell opens its test images.
        var cell = ada.Locator("[data-testid=confusion-matrix] td.clickable").First;
        var inCell = int.Parse((await cell.TextContentAsync())!.Trim());
        await cell.ClickAsync();
        await Expect(ada.GetByTestId("cell-image")).ToHaveCountAsync(inCell);
        await Expect(ada.Locator("[data-testid=cell-image] img").Last).ToHaveJSPropertyAsync("complete", true);
        await BrowserFixture.ScreenshotAsync(ada, "journey-07-confusion-cell.png", fullPage: false);
        await ada.GetByTestId("close-cell").ClickAsync();
        await Expect(ada.GetByTestId("cell-images")).ToHaveCountAsync(0);

        // The PDF report carries the accuracy the page shows.
        var accuracy = Regex.Match((await ada.GetByTestId("accuracy").TextContentAsync())!, @"\d+(\.\d)?").Value;
        var download = await ada.RunAndWaitForDownloadAsync(() => ada.GetByTestId("download-pdf").ClickAsync());
        var pdfPath = Path.Combine(BrowserFixture.ScreenshotFolder, "journey-report.pdf");
        await download.SaveAsAsync(pdfPath);
        Assert.Equal("%PDF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(pdfPath), 0, 4));
        var pdfText = await PdfTextAsync(pdfPath);
        Assert.Contains($"{accuracy}%", pdfText);
        Assert.Contains("Clothes", pdfText);

        // "Test an image": a sneaker the model has never seen gets ranked classes with probabilities.
        var unseen = FashionFiles("sneaker")[^1];
        await (await BrowserFixture.FileInputAsync(ada, "input.predict-input")).SetInputFilesAsync(unseen);
        var predictions = ada.GetByTestId("prediction");
        await Expect(predictions.First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        Assert.InRange(await predictions.CountAsync(), 1, Classes.Length);
        foreach (var row in await predictions.AllAsync())
            await Expect(row).ToHaveTextAsync(new Regex($@"^\s*({string.Join('|', Classes)})\s*\d+(\.\d)?\s?%\s*$"));
        await Expect(ada.GetByTestId("predict-file-name")).ToHaveTextAsync(Path.GetFileName(unseen));
        await ada.GetByTestId("predict-panel").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(ada, "journey-08-test-an-image.png", fullPage: false);
        Step("confusion cell, PDF report and a test image checked");

        // The project's runs: both ticked and compared, their validation curves overlaid.
        await BrowserFixture.GoInteractiveAsync(ada, $"{projectUrl}/runs");
        await Expect(ada.GetByTestId("run-accuracy")).ToHaveCountAsync(2);
        await Expect(ada.GetByTestId("run-accuracy").Nth(0)).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        await Expect(ada.GetByTestId("run-accuracy").Nth(1)).ToHaveTextAsync(new Regex(@"\d+(\.\d)?\s?%"));
        var ticks = ada.Locator("[data-testid=runs-table] tbody input[type=checkbox]");
        await ticks.Nth(0).CheckAsync();
        await ticks.Nth(1).CheckAsync();
        await Expect(ada.GetByTestId("compare")).ToContainTextAsync("(2)");
        await ada.GetByTestId("compare").ClickAsync();
        await Expect(ada.GetByTestId("compared-run")).ToHaveCountAsync(2);
        await Expect(ada.GetByTestId("comparison-table")).ToContainTextAsync("Feature extraction", new() { IgnoreCase = true });
        await Expect(ada.GetByTestId("comparison-table")).ToContainTextAsync("Fine-tune", new() { IgnoreCase = true });
        await Expect(ada.Locator("[data-testid=compare-accuracy] polyline")).ToHaveCountAsync(2);
        await Expect(ada.Locator("[data-testid=compare-loss] polyline")).ToHaveCountAsync(2);
        await BrowserFixture.ScreenshotAsync(ada, "journey-09-runs-compare.png");
        Step("runs compared");
    }

    /// <summary>The settings both runs share: a few epochs at 64 px, no early stopping.</summary>
    private static async Task FillLaunchFormAsync(IPage page, int epochs)
    {
        await page.GetByLabel("Epochs", new() { Exact = true }).FillAsync($"{epochs}");
        await page.GetByLabel("Image size (px)").FillAsync("64");
        await page.GetByLabel("Early-stopping patience (0 = off)").FillAsync("0");
        await page.GetByLabel("Early-stopping patience (0 = off)").BlurAsync();
        await Expect(page.GetByTestId("launch-summary")).ToContainTextAsync($"of {epochs} epoch(s)");
        await Expect(page.GetByLabel("Image size (px)")).ToHaveValueAsync("64");
    }

    private static async Task<string> PdfTextAsync(string pdfPath)
    {
        using var pdftotext = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("pdftotext", [pdfPath, "-"]) { RedirectStandardOutput = true })!;
        var text = await pdftotext.StandardOutput.ReadToEndAsync();
        await pdftotext.WaitForExitAsync();
        return text;
    }

    /// <summary>Bag, sneaker and trouser, <see cref="PerClass"/> images each in class folders (no split folders);
    /// the last sneaker is filed under bag.</summary>
    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var cls in Classes)
            {
                var files = FashionFiles(cls).Take(PerClass).ToList();
                for (var i = 0; i < files.Count; i++)
                {
                    var folder = cls == "sneaker" && i == PerClass - 1 ? "bag" : cls;
                    zip.CreateEntryFromFile(files[i], $"{folder}/{Path.GetFileName(files[i])}");
                }
            }
        return buffer.ToArray();
    }
}
