using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>Issue 14 in a real browser: a newcomer's first pages (greeting, password rules, passkeys on an IP address,
/// dialogs that are not red before anything is typed), the one image viewer opened from the gallery and from a
/// confusion-matrix cell (arrow keys move, a digit key relabels), the matrix's percentages, and a dataset renamed,
/// deleted and restored (from the snackbar and from its page).</summary>
public sealed class ImageViewerJourneyTests(BrowserWithWorkerFixture fixture) : IClassFixture<BrowserWithWorkerFixture>
{
    private static readonly string[] Classes = ["bag", "sneaker", "trouser"];

    [Fact]
    public async Task AnEditorJudgesImagesInTheViewerThenRenamesDeletesAndRestoresTheDataset()
    {
        var page = await fixture.Browser.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") console.Add(message.Text); };
        page.PageError += (_, error) => console.Add(error);

        // Signed out on http://127.0.0.1: passkeys cannot work there, and the login page says so instead of failing.
        await page.GotoAsync("Account/Login");
        await Expect(page.GetByTestId("passkey-unavailable")).ToContainTextAsync("not an IP address");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log in with a passkey" })).ToHaveCountAsync(0);
        await page.GotoAsync("Account/Register");
        await Expect(page.GetByTestId("password-rules")).ToContainTextAsync("At least 6 characters, with an uppercase letter");
        await BrowserFixture.ScreenshotAsync(page, "register.png");
        Assert.DoesNotContain(console, m => m.Contains("SecurityError", StringComparison.Ordinal));

        await BrowserFixture.RegisterAsync(page, "vera@example.com");
        await Expect(page.GetByTestId("welcome")).ToHaveTextAsync("Welcome to TransferHub");
        await Expect(page.GetByTestId("first-steps")).ToContainTextAsync("create a team");
        await BrowserFixture.ScreenshotAsync(page, "home-newcomer.png");

        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync("Wardrobe team");
        var createTeam = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));

        // The project and dataset dialogs open clean: "needs a name" only once the user tried to save without one.
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await Expect(page.GetByTestId("project-name")).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(500); // focus moves, fields may blur
        await BrowserFixture.ScreenshotAsync(page, "project-dialog.png", fullPage: false);
        await Expect(dialog.Locator(".mud-input-error")).ToHaveCountAsync(0);
        await Expect(dialog).Not.ToContainTextAsync("needs a name");
        await page.GetByTestId("save-project").ClickAsync();
        await Expect(dialog).ToContainTextAsync("A project needs a name.");
        await page.GetByLabel("Name").First.FillAsync("Clothes");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Clothes" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        await page.GetByTestId("new-dataset").ClickAsync();
        await Expect(page.GetByLabel("Dataset name")).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(500);
        await Expect(dialog.Locator(".mud-input-error")).ToHaveCountAsync(0);
        await page.GetByLabel("Dataset name").FillAsync("Fashion");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        var datasetPath = new Uri(page.Url).PathAndQuery.TrimStart('/');
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload
        {
            Name = "fashion.zip", MimeType = "application/zip", Buffer = Zip(),
        });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("30 imported", new() { Timeout = 30_000 });

        // The gallery opens the viewer on a tile; the arrows step through every image; a digit relabels.
        await page.GetByTestId("gallery-tile").First.ClickAsync();
        var viewer = page.GetByTestId("image-viewer");
        await Expect(viewer).ToBeFocusedAsync();
        await Expect(page.GetByTestId("viewer-position")).ToHaveTextAsync("1 of 30");
        await Expect(page.GetByTestId("viewer-label")).ToHaveTextAsync("bag");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.GetByTestId("viewer-position")).ToHaveTextAsync("2 of 30");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.GetByTestId("viewer-position")).ToHaveTextAsync("1 of 30");
        await Expect(page.GetByTestId("viewer-class")).ToHaveTextAsync(["1 bag", "2 sneaker", "3 trouser"]);
        await page.Keyboard.PressAsync("3");
        await Expect(page.GetByTestId("viewer-label")).ToHaveTextAsync("trouser");
        await Expect(page.Locator("[data-testid=image-large]")).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await page.Locator("[data-testid=image-large]").EvaluateAsync<bool>("i => i.naturalWidth > 0"));
        await page.WaitForTimeoutAsync(400); // the label buttons' colour transition
        await BrowserFixture.ScreenshotAsync(page, "viewer-gallery.png", fullPage: false, hideSnackbars: true);
        await page.Keyboard.PressAsync("1"); // back to what it was: the run below trains on the true labels
        await Expect(page.GetByTestId("viewer-label")).ToHaveTextAsync("bag");
        await page.GetByTestId("close-viewer").ClickAsync();
        await Expect(viewer).ToHaveCountAsync(0);

        // "Select all on this page" ticks every tile.
        await page.GetByTestId("select-page").CheckAsync();
        await Expect(page.GetByTestId("selection-count")).ToHaveTextAsync("30 selected");
        await page.GetByTestId("select-page").UncheckAsync();
        await Expect(page.GetByTestId("selection-bar")).ToHaveCountAsync(0);

        // A run with the defaults.
        await page.GetByTestId("train").ClickAsync();
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        await page.GetByTestId("launch").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
        await Expect(page.GetByTestId("run-status")).ToHaveTextAsync("completed", new() { Timeout = 240_000 });

        // The matrix: counts or each cell's share of its true class.
        var matrix = page.GetByTestId("confusion-matrix");
        await page.GetByTestId("confusion-percentages").CheckAsync();
        await Expect(matrix.Locator("td").First).ToHaveTextAsync(new Regex(@"^\s*(<1|>99|\d+)%\s*$"));
        await matrix.ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "run-matrix-percentages.png", fullPage: false, hideSnackbars: true);
        await page.GetByTestId("confusion-percentages").UncheckAsync();
        await Expect(matrix.Locator("td").First).ToHaveTextAsync(new Regex(@"^\s*\d+\s*$"));

        // A cell's thumbnail opens the viewer on the cell's images, with what the run saw.
        var cell = matrix.Locator("td.clickable").First;
        var inCell = int.Parse((await cell.TextContentAsync())!.Trim());
        await cell.ClickAsync();
        await Expect(page.GetByTestId("cell-image")).ToHaveCountAsync(inCell);
        await BrowserFixture.ScreenshotAsync(page, "confusion-cell.png", fullPage: false, hideSnackbars: true);
        await page.GetByTestId("cell-image").First.ClickAsync();
        await Expect(viewer).ToBeFocusedAsync();
        await Expect(page.GetByTestId("viewer-position")).ToHaveTextAsync($"1 of {inCell}");
        await Expect(page.GetByTestId("viewer-note")).ToContainTextAsync("The run saw it labelled");
        if (inCell > 1)
        {
            await page.Keyboard.PressAsync("ArrowRight");
            await Expect(page.GetByTestId("viewer-position")).ToHaveTextAsync($"2 of {inCell}");
        }
        var label = (await page.GetByTestId("viewer-label").TextContentAsync())!.Trim();
        var (key, other) = label == "sneaker" ? ("3", "trouser") : ("2", "sneaker");
        await page.Keyboard.PressAsync(key);
        await Expect(page.GetByTestId("viewer-label")).ToHaveTextAsync(other);
        await page.WaitForTimeoutAsync(400);
        await BrowserFixture.ScreenshotAsync(page, "viewer-cell.png", fullPage: false, hideSnackbars: true);
        await page.GetByTestId("close-viewer").ClickAsync();
        await Expect(page.GetByTestId("relabelled")).Not.ToHaveCountAsync(0); // the cell says the image is labelled differently now
        await page.GetByTestId("close-cell").ClickAsync();
        await Expect(page.GetByTestId("retrain-hint")).ToBeVisibleAsync();

        // Rename the dataset, delete it (its run stays), undo from the snackbar.
        await BrowserFixture.GoInteractiveAsync(page, datasetPath);
        await page.GetByTestId("rename-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Fashion v2");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Fashion v2" })).ToBeVisibleAsync();
        await page.GetByTestId("delete-dataset").ClickAsync();
        await Expect(dialog).ToContainTextAsync("Its 1 run is kept");
        await Expect(dialog).ToContainTextAsync("undo this for 2 minutes");
        await BrowserFixture.ScreenshotAsync(page, "dataset-delete-confirm.png", fullPage: false);
        await page.GetByTestId("confirm").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        await Expect(page.GetByText("Dataset \"Fashion v2\" deleted.")).ToBeVisibleAsync();
        await Expect(page.GetByText("No datasets yet")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "dataset-deleted-undo.png", fullPage: false);
        await page.GetByRole(AriaRole.Button, new() { Name = "Undo" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("30 images in 3 classes");

        // Deleted again, from the project's table: the dataset's own page says what became of it and undoes it.
        await page.GetByRole(AriaRole.Link, new() { Name = "Clothes" }).First.ClickAsync();
        await Expect(page.GetByTestId("datasets-table")).ToContainTextAsync("Fashion v2");
        await BrowserFixture.ScreenshotAsync(page, "project-datasets.png", fullPage: false);
        await page.GetByTestId("datasets-table").GetByTestId("delete-dataset").ClickAsync();
        await page.GetByTestId("confirm").ClickAsync();
        await Expect(page.GetByTestId("datasets-table")).ToHaveCountAsync(0);
        await BrowserFixture.GoInteractiveAsync(page, datasetPath);
        await Expect(page.GetByTestId("dataset-deleted")).ToHaveTextAsync("Dataset \"Fashion v2\" was deleted");
        await Expect(page.GetByText("Its 1 run is kept")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "dataset-deleted-page.png", fullPage: false);
        await page.GetByTestId("restore-dataset").ClickAsync();
        await Expect(page.GetByTestId("dataset-counts")).ToContainTextAsync("30 images in 3 classes");

        // The classes' icons say what they do; the workers page dates are unambiguous.
        await page.GetByRole(AriaRole.Button, new() { Name = "Merge bag into" }).HoverAsync();
        await Expect(page.GetByText("Merge into another class")).ToBeVisibleAsync();
        await BrowserFixture.GoInteractiveAsync(page, "admin/workers");
        await Expect(page.GetByTestId("workers-table")).ToContainTextAsync(new Regex(@"last seen \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"));
        await BrowserFixture.ScreenshotAsync(page, "workers.png", fullPage: false);
        Assert.DoesNotContain(console, m => m.Contains("SecurityError", StringComparison.Ordinal));
    }

    /// <summary>Bags, sneakers and trousers: 6 train, 2 val, 2 test each.</summary>
    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var cls in Classes)
            {
                var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", cls)).Order(StringComparer.Ordinal).Take(10).ToList();
                for (var i = 0; i < files.Count; i++)
                    zip.CreateEntryFromFile(files[i], $"{(i < 6 ? "train" : i < 8 ? "val" : "test")}/{cls}/{Path.GetFileName(files[i])}");
            }
        return buffer.ToArray();
    }
}
