using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>A newcomer in a real browser: registers, creates a team and a project, then a dataset from a zip.</summary>
public sealed class FirstStepsTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ANewUserRegistersCreatesATeamAProjectAndADatasetFromAZip()
    {
        var page = await fixture.NewPageAsync();
        var email = $"ada-{Guid.NewGuid():N}@example.com"[..24] + "@example.com";

        await BrowserFixture.RegisterAsync(page, email);

        await BrowserFixture.GoInteractiveAsync(page, "teams");
        var teamName = page.GetByLabel("New team name");
        await teamName.FillAsync("Field biologists");
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(create).ToBeEnabledAsync();
        await create.ClickAsync();
        // Creating a team opens it, with the creator as its owner.
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Field biologists" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("members-table")).ToContainTextAsync(email, new() { IgnoreCase = true });
        await BrowserFixture.ScreenshotAsync(page, "team.png");

        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Garden birds");
        await page.GetByTestId("save-project").ClickAsync();
        await Expect(page.GetByTestId("projects-table")).ToContainTextAsync("Garden birds");
        await Expect(page.GetByTestId("projects-table")).ToContainTextAsync("Field biologists");
        await BrowserFixture.ScreenshotAsync(page, "projects.png");

        await page.GetByRole(AriaRole.Link, new() { Name = "Garden birds" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Garden birds" })).ToBeVisibleAsync();
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Clothes");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Clothes" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("upload-limits")).ToContainTextAsync("per image");

        // 3 classes x 4 images: 3 for training, 1 for testing; plus macOS litter the import ignores and a fake image it rejects.
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload
        {
            Name = "clothes.zip", MimeType = "application/zip", Buffer = FashionZip(["bag", "sneaker", "trouser"], perClass: 4),
        });
        var report = page.GetByTestId("import-report");
        await Expect(report).ToContainTextAsync("12 imported");
        await Expect(report).ToContainTextAsync("1 rejected");
        await Expect(page.GetByTestId("rejected-files")).ToContainTextAsync("train/bag/notes.png");
        await Expect(report).ToContainTextAsync("1 ignored");
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("12 images in 3 classes");
        await Expect(page.GetByTestId("gallery-tile")).ToHaveCountAsync(12);
        await Expect(page.GetByTestId("gallery-count")).ToContainTextAsync("1–12 of 12 images");
        // Every thumbnail really loaded (naturalWidth is 0 for a broken image).
        await Expect(page.Locator("[data-testid=gallery-tile] img").Last).ToHaveJSPropertyAsync("complete", true);
        var loaded = await page.Locator("[data-testid=gallery-tile] img").EvaluateAllAsync<int>("imgs => imgs.filter(i => i.naturalWidth > 0).length");
        Assert.Equal(12, loaded);
        await Expect(page.GetByTestId("class-row")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("class-chart")).ToContainTextAsync("too few to learn reliably");
        await BrowserFixture.ScreenshotAsync(page, "dataset.png");

        // A zip of several MB crosses the circuit in many chunks (far over SignalR's 32 KB message limit) and is still
        // checked per file: random bytes named .png are rejected and nothing is added.
        var noise = new byte[6 * 1024 * 1024];
        new Random(7).NextBytes(noise);
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload { Name = "noise.zip", MimeType = "application/zip", Buffer = ZipOf("train/bag/noise.png", noise) });
        await Expect(report).ToContainTextAsync("Import of noise.zip", new() { Timeout = 60_000 });
        await Expect(report).ToContainTextAsync("0 imported");
        await Expect(page.GetByTestId("rejected-files")).ToContainTextAsync("train/bag/noise.png");
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("12 images in 3 classes");

        // Two more bags dropped into the existing class start without a split; the gallery filters by split on the server.
        await page.GetByTestId("upload-class").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "bag" }).ClickAsync();
        // The file input is enabled once the circuit has the class; files set before that would be dropped.
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Add images…" })).ToBeEnabledAsync();
        var moreBags = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", "bag")).Order(StringComparer.Ordinal).Skip(10).Take(2);
        await (await BrowserFixture.FileInputAsync(page, "input.images-input")).SetInputFilesAsync(moreBags);
        await Expect(report).ToContainTextAsync("2 imported");
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("14 images in 3 classes");
        await page.GetByTestId("filter-split").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "no split" }).ClickAsync();
        await Expect(page.GetByTestId("gallery-tile")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("gallery")).ToContainTextAsync("bag");
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await BrowserFixture.ScreenshotAsync(page, "dataset-filtered.png");

        await page.GetByTestId("gallery-tile").First.ClickAsync();
        await Expect(page.GetByTestId("image-large")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "image.png", fullPage: false);
        await page.Keyboard.PressAsync("Escape");

        // Curation: two "no split" bags (the filter is still on) are ticked and relabelled as trousers; the content version
        // shown above follows without a reload (it stayed old until a reload).
        var beforeRelabel = await page.GetByTestId("dataset-version").TextContentAsync();
        await page.GetByTestId("tile-select").Nth(0).CheckAsync();
        await page.GetByTestId("tile-select").Nth(1).CheckAsync();
        await Expect(page.GetByTestId("selection-count")).ToHaveTextAsync("2 selected");
        await page.GetByTestId("relabel-to").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "trouser" }).ClickAsync();
        await page.GetByTestId("relabel").ClickAsync();
        await Expect(page.GetByText("Relabelled 2 image(s) as trouser.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("selection-bar")).Not.ToBeVisibleAsync();
        await Expect(page.GetByTestId("gallery")).ToContainTextAsync("trouser");
        await Expect(page.GetByTestId("dataset-version")).Not.ToHaveTextAsync(beforeRelabel!);
        await Expect(page.GetByTestId("class-row").Filter(new() { HasText = "trouser" })).ToContainTextAsync("6");

        // A class is renamed from the classes panel; the chart follows.
        await page.GetByRole(AriaRole.Button, new() { Name = "Rename sneaker" }).ClickAsync();
        await page.GetByLabel("Class name").FillAsync("trainer");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page.GetByTestId("class-row").Filter(new() { HasText = "trainer" })).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("class-row").Filter(new() { HasText = "sneaker" })).ToHaveCountAsync(0);

        // A stratified split, then the test split is frozen; the content version changes with the split.
        var version = await page.GetByTestId("dataset-version").TextContentAsync();
        await page.GetByTestId("split").ClickAsync();
        await page.GetByTestId("confirm").ClickAsync();
        await Expect(page.GetByText(new Regex(@"Split: \d+ train, \d+ validation, \d+ test"))).ToBeVisibleAsync();
        await Expect(page.GetByTestId("dataset-version")).Not.ToHaveTextAsync(version!);
        await page.GetByLabel("Freeze test split").CheckAsync();
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("test split frozen");
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await BrowserFixture.ScreenshotAsync(page, "dataset-split.png");

        await page.GetByRole(AriaRole.Link, new() { Name = "Garden birds" }).First.ClickAsync();
        await Expect(page.GetByTestId("datasets-table")).ToContainTextAsync("Clothes");
        await Expect(page.GetByTestId("datasets-table")).ToContainTextAsync("14");
        await BrowserFixture.ScreenshotAsync(page, "project.png");
    }

    private static byte[] ZipOf(string path, byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = zip.CreateEntry(path, CompressionLevel.NoCompression).Open())
            entry.Write(data);
        return buffer.ToArray();
    }

    /// <summary>Each class's first <paramref name="perClass"/> Fashion-MNIST images (the first in test/, the rest in train/), plus a
    /// fake image the import rejects and macOS litter it ignores.</summary>
    internal static byte[] FashionZip(string[] classes, int perClass)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var name in classes)
            {
                var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", name))
                    .Order(StringComparer.Ordinal).Take(perClass).ToList();
                for (var i = 0; i < files.Count; i++)
                    zip.CreateEntryFromFile(files[i], $"{(i == 0 ? "test" : "train")}/{name}/{Path.GetFileName(files[i])}");
            }
            using (var notes = new StreamWriter(zip.CreateEntry("train/bag/notes.png").Open()))
                notes.Write("not really a picture");
            using (var litter = zip.CreateEntry("__MACOSX/train/bag/._00000.png").Open())
                litter.Write([0, 5, 22, 7]);
        }
        return buffer.ToArray();
    }
}
