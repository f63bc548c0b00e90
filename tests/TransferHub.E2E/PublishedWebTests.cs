using System.Diagnostics;
using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>
/// Issue 17 item 6: the web app as deployed. `dotnet publish` (what scripts/publish.sh runs) into a temporary folder,
/// started from there with ASPNETCORE_ENVIRONMENT=Production, must serve Blazor's and MudBlazor's static assets (the
/// build output does so only in Development) and come alive in a real Chromium.
/// </summary>
public sealed class PublishedWebTests
{
    [Fact]
    public async Task ThePublishedWebServesItsAssetsAndGoesInteractiveInProduction()
    {
        var publish = Path.Combine(Path.GetTempPath(), "transferhub-e2e-publish", Guid.NewGuid().ToString("N"));
        try
        {
            // As scripts/publish.sh does (linux-x64, framework-dependent), in this test run's configuration.
            var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
            await RunAsync("dotnet", ["publish", Path.Combine(BuiltProcess.RepoRoot(), "web", "TransferHub.Web.csproj"), "-c", configuration,
                "-r", "linux-x64", "--self-contained", "false", "-o", publish, "-nologo", "-v", "q"]);
            Assert.True(File.Exists(Path.Combine(publish, "wwwroot", "_framework", "blazor.web.js")), "publish has no wwwroot/_framework/blazor.web.js");

            var address = BuiltProcess.FreeLoopbackAddress();
            await using var web = BuiltProcess.StartDll("published web", Path.Combine(publish, "TransferHub.Web.dll"), publish, folder => new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Urls"] = address.ToString(),
                ["ConnectionStrings__TransferHub"] = $"Data Source={Path.Combine(folder, "transferhub.db")}",
                ["Storage__Root"] = Path.Combine(folder, "storage"),
                ["Workers__Local__Address"] = "",
                ["Sample__Enabled"] = "false",
            });
            using var http = new HttpClient { BaseAddress = address };
            await web.WaitUntilAsync(async () =>
            {
                try { return (await http.GetAsync("/")).StatusCode == HttpStatusCode.OK; }
                catch (HttpRequestException) { return false; }
            });
            Assert.Contains("Hosting environment: Production", web.Output);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = BrowserFixture.ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString() });
            context.SetDefaultTimeout(30_000);
            var page = await context.NewPageAsync();
            var assets = new List<(string Url, int Status)>();
            page.Response += (_, response) =>
            {
                if (response.Url.Contains("_framework/") || response.Url.Contains("_content/MudBlazor/"))
                    lock (assets) assets.Add((response.Url, response.Status));
            };

            await page.GotoAsync("/");
            await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

            lock (assets)
            {
                Assert.Contains(assets, a => a.Url.Contains("blazor.web") && a.Url.EndsWith(".js") && a.Status == 200);
                Assert.Contains(assets, a => a.Url.Contains("MudBlazor") && a.Url.EndsWith(".css") && a.Status == 200);
                Assert.Contains(assets, a => a.Url.Contains("MudBlazor") && a.Url.EndsWith(".js") && a.Status == 200);
                Assert.All(assets, a => Assert.True(a.Status is 200 or 304, $"{a.Url}: {a.Status}"));
            }
            // MudBlazor's stylesheet is applied: the app bar's toolbar is a flex row (a bare div would be a block).
            Assert.Equal("flex", await page.Locator(".mud-toolbar").First.EvaluateAsync<string>("e => getComputedStyle(e).display"));
            // And the circuit answers input: the menu button toggles the navigation drawer.
            var drawer = page.Locator(".mud-drawer").First;
            var before = await drawer.GetAttributeAsync("class");
            await page.GetByLabel("Toggle navigation").ClickAsync();
            await Expect(drawer).Not.ToHaveAttributeAsync("class", before ?? "");
        }
        finally
        {
            try { Directory.Delete(publish, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await error}");
    }
}
