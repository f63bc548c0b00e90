using Microsoft.Playwright;

namespace TransferHub.E2E;

/// <summary>Debian's Chromium driven by Playwright (no browser download: CI installs the apt package), plus the web app.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    private IPlaywright? _playwright;

    public WebAppProcess App { get; } = new();
    public IBrowser Browser { get; private set; } = default!;

    /// <summary>Where screenshots go: the test output folder (CI keeps it), named by test.</summary>
    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>With <c>TRANSFERHUB_DOCS_SCREENSHOTS=1</c> (scripts/docs-screenshots.sh) every screenshot is also written
    /// to the repository's <c>docs/screenshots/</c>, so the documentation shows the pages as they are.</summary>
    public static bool DocsScreenshots => Environment.GetEnvironmentVariable("TRANSFERHUB_DOCS_SCREENSHOTS") == "1";

    /// <summary>A full-page shot larger than this goes into the docs as the viewport only (1280 × 900).</summary>
    public const long DocsScreenshotMaxBytes = 400 * 1024;

    /// <summary>Saves a PNG of <paramref name="page"/> as <paramref name="name"/> in <see cref="ScreenshotFolder"/> (and in
    /// docs/screenshots when <see cref="DocsScreenshots"/> is on). <paramref name="hideSnackbars"/> leaves out the
    /// notifications, which a full-page shot would otherwise paint over the page's content.</summary>
    public static async Task ScreenshotAsync(IPage page, string name, bool fullPage = true, bool hideSnackbars = false)
    {
        var style = hideSnackbars ? ".mud-snackbar { display: none !important; }" : null;
        var path = Path.Combine(ScreenshotFolder, name);
        await page.ScreenshotAsync(new() { Path = path, FullPage = fullPage, Style = style });
        if (!DocsScreenshots) return;
        var docs = Path.Combine(BuiltProcess.RepoRoot(), "docs", "screenshots");
        Directory.CreateDirectory(docs);
        if (fullPage && new FileInfo(path).Length > DocsScreenshotMaxBytes)
            await page.ScreenshotAsync(new() { Path = Path.Combine(docs, name), Style = style });
        else
            File.Copy(path, Path.Combine(docs, name), overwrite: true);
    }

    /// <summary>The last element matching <paramref name="selector"/> (a Blazor <c>InputFile</c>, which MudFileUpload renders)
    /// once it listens for files. Its JavaScript attaches the "change" listener after the first render (and marks the
    /// input with <c>_blazorInputFileNextFileId</c>); files set before that are silently dropped, which a loaded machine
    /// makes likely.</summary>
    public static async Task<ILocator> FileInputAsync(IPage page, string selector)
    {
        await page.WaitForFunctionAsync("""
            selector => {
                const inputs = document.querySelectorAll(selector);
                return inputs.length > 0 && inputs[inputs.length - 1]._blazorInputFileNextFileId !== undefined;
            }
            """, selector);
        return page.Locator(selector).Last;
    }

    /// <summary>Registers <paramref name="email"/> on the account page and waits until it is signed in.</summary>
    public static async Task RegisterAsync(IPage page, string email, string password = "Correct-horse-1")
    {
        await page.GotoAsync("Account/Register");
        await page.FillAsync("#Input\\.Email", email);
        await page.FillAsync("#Input\\.Password", password);
        await page.FillAsync("#Input\\.ConfirmPassword", password);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.GetByTestId("signed-in-user")).ToContainTextAsync(email, new() { IgnoreCase = true });
    }

    static BrowserFixture() =>
        // Playwright's assertions wait 5 s by default (actions: the context's 20 s); a loaded 2-core machine needs more.
        Assertions.SetDefaultExpectTimeout(20_000);

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: apt-get install chromium (.ci/run does).");
        await App.InitializeAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"], // Playwright gives each launch a fresh, temporary profile
        });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    /// <summary>A fresh browser context (its own cookies) at the app's address.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = App.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(20_000);
        return await context.NewPageAsync();
    }

    /// <summary>Goes to <paramref name="url"/> and waits until the page is live on its Blazor circuit, so input is
    /// not lost to the pre-rendered copy.</summary>
    public static async Task GoInteractiveAsync(IPage page, string url)
    {
        await page.GotoAsync(url);
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        await App.DisposeAsync();
    }
}
