using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TransferHub.E2E;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.Browser.Bench;

/// <summary>
/// Benchmarks of the product as a user meets it: the Release web app and a Release CPU worker as real processes (as
/// <c>./run.sh</c> runs them, but on free loopback ports with temporary data folders, deleted at the end), driven by
/// Debian's headless Chromium through Playwright, with the E2E tests' own fixtures (linked from tests/TransferHub.E2E).
/// <para><c>--upload-to-accuracy [--zip FILE] [--repeat N] [--screenshot FILE.png]</c>: the time from "upload done" to a
/// model with its test accuracy on screen, with the defaults (see <see cref="UploadToAccuracy"/>).</para>
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!args.Contains("--upload-to-accuracy"))
        {
            Console.Error.WriteLine("""
                Usage: dotnet run -c Release --project bench/TransferHub.Browser.Bench -- --upload-to-accuracy
                         [--zip FILE] [--repeat N] [--screenshot FILE.png]
                  --zip         a folder-per-class zip without split folders (default: .samples/tuxpaint.zip, which
                                ./scripts/tuxpaint-sample.sh writes)
                  --repeat      rounds; each round starts a fresh worker (cold) and then trains the same images again on
                                it as a second dataset (warm) (default 1)
                  --screenshot  a full-page PNG of the last run page, accuracy on screen
                """);
            return 2;
        }
        var zip = Option(args, "--zip") ?? Path.Combine(BuiltProcess.RepoRoot(), ".samples", "tuxpaint.zip");
        if (!File.Exists(zip))
        {
            Console.Error.WriteLine($"{zip} does not exist: run ./scripts/tuxpaint-sample.sh (it writes .samples/tuxpaint.zip) or pass --zip FILE.");
            return 2;
        }
        var repeatText = Option(args, "--repeat") ?? "1";
        if (!int.TryParse(repeatText, NumberStyles.None, CultureInfo.InvariantCulture, out var repeat) || repeat is < 1 or > 20)
        {
            Console.Error.WriteLine($"--repeat must be a whole number from 1 to 20, not '{repeatText}'.");
            return 2;
        }
        var screenshot = Option(args, "--screenshot");
        if (screenshot is not null && !screenshot.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"--screenshot must name a .png file, not '{screenshot}'.");
            return 2;
        }
        await UploadToAccuracy.RunAsync(Path.GetFullPath(zip), repeat, screenshot is null ? null : Path.GetFullPath(screenshot));
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

/// <summary>
/// "From upload done to a model with its test accuracy on screen" (README, Quick start), timed in the browser. Per
/// round: a fresh worker (empty data folder, so no cached features) and web app; register, new team, project and
/// dataset; upload the zip on the dataset page (<b>import</b>: file chosen → the import report shows "N imported");
/// <b>the clock starts</b>; <i>Split 70/15/15 now</i> → <i>Train</i> → <i>Queue run</i> with the launch form's defaults
/// (<b>split → queued</b>: the click → the run page's address); the run page until the evaluation shows the test
/// accuracy (<b>run</b>); <b>the clock stops</b>. Then the same again as a second dataset of the same images on the
/// same worker, whose feature cache now holds them (<b>warm</b>). Times are wall-clock seconds seen by the browser; the
/// machine's load average (/proc/loadavg, as <c>uptime</c> prints it) is read at each measurement's start and end.
/// </summary>
public static class UploadToAccuracy
{
    /// <summary>Longest wait for one import or one run (a loaded 2-core machine is slow; nothing else waits this long).</summary>
    private const float LongWaitMs = 20 * 60_000;

    public sealed record Measurement(int Round, string Kind, int Images, double ImportS, double SplitToQueuedS, double RunS,
        double UploadDoneToAccuracyS, string WorkerTime, string Mode, string Accuracy, string LoadAtStart, string LoadAtEnd);

    public static async Task RunAsync(string zip, int repeat, string? screenshot)
    {
        var results = new List<Measurement>();
        Console.WriteLine($"upload → accuracy: {zip} ({new FileInfo(zip).Length / 1e6:F1} MB, {CountImages(zip)} files), {repeat} round(s), load average {LoadAverage()}");
        for (var round = 1; round <= repeat; round++)
        {
            // Web app and worker from their Release build output, on free ports, with temporary folders: the fixture
            // deletes them (and closes Chromium) on dispose.
            var fixture = new BrowserWithWorkerFixture();
            try
            {
                await fixture.InitializeAsync();
                var page = await fixture.Browser.NewPageAsync();
                await BrowserFixture.RegisterAsync(page, $"bench{round}@example.com");
                var projectPath = await NewProjectAsync(page, $"Bench team {round}");
                var last = round == repeat;
                results.Add(await MeasureAsync(page, round, "cold", projectPath, zip, null));
                results.Add(await MeasureAsync(page, round, "warm", projectPath, zip, last ? screenshot : null));
                Console.WriteLine($"round {round}: cold {results[^2].UploadDoneToAccuracyS:F1} s, warm {results[^1].UploadDoneToAccuracyS:F1} s");
            }
            finally
            {
                await fixture.DisposeAsync();
            }
        }
        Print(results);
    }

    private static async Task<Measurement> MeasureAsync(IPage page, int round, string kind, string projectPath, string zip, string? screenshot)
    {
        var loadAtStart = LoadAverage();
        await BrowserFixture.GoInteractiveAsync(page, projectPath);
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync($"Upload bench {kind}");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

        // Import: the file handed to the page's upload input → the report shows how many images were imported.
        var input = await BrowserFixture.FileInputAsync(page, "input.zip-input");
        var import = Stopwatch.StartNew();
        await input.SetInputFilesAsync(zip);
        var imported = page.GetByTestId("import-report").GetByText(new Regex(@"^\d+ imported$"));
        await imported.WaitForAsync(new() { Timeout = LongWaitMs });
        var importS = import.Elapsed.TotalSeconds;
        var images = int.Parse(Regex.Match((await imported.TextContentAsync())!, @"\d+").Value, CultureInfo.InvariantCulture);

        // Upload done: the clock starts. Split, Train, Queue run with the launch form's defaults.
        var total = Stopwatch.StartNew();
        var fix = page.GetByTestId("blocker-fix");
        await Expect(fix).ToHaveTextAsync("Split 70/15/15 now");
        await fix.ClickAsync();
        await Expect(page.GetByTestId("launch-blocker")).ToHaveCountAsync(0, new() { Timeout = LongWaitMs });
        await page.GetByTestId("train").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+/train$"));
        var launch = page.GetByTestId("launch");
        await Expect(launch).ToBeEnabledAsync(new() { Timeout = LongWaitMs });
        var mode = await page.EvaluateAsync<string>("""
            () => {
                const checked = document.querySelector('[data-testid=mode] input:checked') ?? document.querySelector('input[type=radio]:checked');
                const label = checked?.closest('label')?.textContent ?? '';
                return label.split('(')[0].trim() || '?';
            }
            """);
        await launch.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        var splitToQueuedS = total.Elapsed.TotalSeconds;

        // The run page until the evaluation shows the accuracy on the test split.
        var accuracy = page.GetByTestId("accuracy");
        await accuracy.WaitForAsync(new() { Timeout = LongWaitMs });
        var uploadDoneToAccuracyS = total.Elapsed.TotalSeconds;
        var loadAtEnd = LoadAverage();
        await Expect(page.GetByTestId("evaluation-summary")).ToContainTextAsync("Accuracy (test)");
        var accuracyText = (await accuracy.TextContentAsync())!.Trim();
        // The run's own duration as its page states it (Auto: "took 33 s"; a fixed-mode run: "trained in …" / "… in all").
        var took = page.GetByTestId("auto-progress").GetByText(new Regex("^took ")).Or(page.GetByTestId("training-time"));
        var workerTimeText = await took.CountAsync() > 0 ? (await took.First.TextContentAsync())!.Trim() : "—";
        if (screenshot is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await page.EvaluateAsync("window.scrollTo(0, 0)");
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true, Style = ".mud-snackbar { display: none !important; }" });
            Console.WriteLine($"screenshot of {page.Url}: {screenshot}");
        }
        return new Measurement(round, kind, images, importS, splitToQueuedS, uploadDoneToAccuracyS - splitToQueuedS,
            uploadDoneToAccuracyS, workerTimeText, mode, accuracyText, loadAtStart, loadAtEnd);
    }

    /// <summary>A team and a project in it; returns the project's path (<c>projects/N</c>).</summary>
    private static async Task<string> NewProjectAsync(IPage page, string team)
    {
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync(team);
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(create).ToBeEnabledAsync();
        await create.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Upload bench");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Upload bench" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        return new Uri(page.Url).AbsolutePath.TrimStart('/');
    }

    private static void Print(List<Measurement> results)
    {
        Console.WriteLine();
        Console.WriteLine("| round | features | images | import s | split → queued s | run s | upload done → accuracy s | run page says | mode | test accuracy | load avg at start | load avg at end |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var m in results)
            Console.WriteLine(FormattableString.Invariant(
                $"| {m.Round} | {m.Kind} | {m.Images} | {m.ImportS:F1} | {m.SplitToQueuedS:F1} | {m.RunS:F1} | **{m.UploadDoneToAccuracyS:F1}** | {m.WorkerTime} | {m.Mode} | {m.Accuracy} | {m.LoadAtStart} | {m.LoadAtEnd} |"));
        Console.WriteLine();
        Console.WriteLine("run s = the run page's address → the test accuracy on it (queue, worker, evaluation, page update); load average = /proc/loadavg (1, 5, 15 min) as `uptime` prints it.");
    }

    /// <summary>The 1-, 5- and 15-minute load averages, as <c>uptime</c> prints them.</summary>
    private static string LoadAverage() =>
        string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static int CountImages(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        return archive.Entries.Count(e => e.Length > 0);
    }
}
