using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>Two people in one team, each in their own browser, on the same dataset page: each sees the other there,
/// and each other's changes arrive without a reload. A delete is undone from the snackbar.</summary>
public sealed class CollaborationTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TwoEditorsSeeEachOtherAndEachOthersChangesLiveAndADeleteIsUndone()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (anaEmail, boEmail) = ($"ana-{tag}@example.com", $"bo-{tag}@example.com");
        var ana = await fixture.NewPageAsync();
        var bo = await fixture.NewPageAsync();
        await BrowserFixture.RegisterAsync(bo, boEmail);
        await BrowserFixture.RegisterAsync(ana, anaEmail);

        // Ana makes a team with Bo as an editor, a project and a dataset of 12 clothes images.
        await BrowserFixture.GoInteractiveAsync(ana, "teams");
        await ana.GetByLabel("New team name").FillAsync("Curators");
        var createTeam = ana.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(createTeam).ToBeEnabledAsync();
        await createTeam.ClickAsync();
        await Expect(ana).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await ana.GetByLabel("Email of an existing account").FillAsync(boEmail);
        await ana.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Expect(ana.GetByTestId("members-table")).ToContainTextAsync(boEmail);
        await BrowserFixture.GoInteractiveAsync(ana, "projects");
        await ana.GetByTestId("new-project").ClickAsync();
        await ana.GetByLabel("Name").First.FillAsync("Wardrobe");
        await ana.GetByTestId("save-project").ClickAsync();
        await ana.GetByRole(AriaRole.Link, new() { Name = "Wardrobe" }).ClickAsync();
        await ana.GetByTestId("new-dataset").ClickAsync();
        await ana.GetByLabel("Dataset name").FillAsync("Clothes");
        await ana.GetByTestId("save-dataset").ClickAsync();
        await Expect(ana).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        await ana.Locator("input.zip-input").Last.SetInputFilesAsync(new FilePayload
        {
            Name = "clothes.zip", MimeType = "application/zip", Buffer = FirstStepsTests.FashionZip(["bag", "sneaker", "trouser"], perClass: 4),
        });
        await Expect(ana.GetByTestId("import-report")).ToContainTextAsync("12 imported");
        // Fashion-MNIST is 28×28: the size chart puts everything in the smallest bucket and warns.
        await Expect(ana.GetByTestId("size-warning")).ToContainTextAsync("12 of 12 images (100%) have a shorter side under 224 px");

        // Bo opens the same dataset: each sees the other, once.
        await BrowserFixture.GoInteractiveAsync(bo, new Uri(ana.Url).PathAndQuery.TrimStart('/'));
        await Expect(bo.GetByTestId("dataset-counts")).ToContainTextAsync("12 images in 3 classes");
        await Expect(ana.GetByTestId("viewer")).ToHaveTextAsync([new Regex(Regex.Escape(boEmail))]);
        await Expect(bo.GetByTestId("viewer")).ToHaveTextAsync([new Regex(Regex.Escape(anaEmail))]);
        await bo.EvaluateAsync("window.__notReloaded = true");

        // Ana relabels two bags as trousers: Bo's chart, gallery and note follow without a reload.
        await ana.GetByTestId("tile-select").Nth(0).CheckAsync();
        await ana.GetByTestId("tile-select").Nth(1).CheckAsync();
        await ana.GetByTestId("relabel-to").ClickAsync();
        await ana.GetByRole(AriaRole.Option, new() { Name = "trouser" }).ClickAsync();
        await ana.GetByTestId("relabel").ClickAsync();
        await Expect(bo.GetByTestId("live-note")).ToContainTextAsync($"{anaEmail} relabelled 2 images as trouser");
        await Expect(bo.GetByTestId("class-row").Filter(new() { HasText = "trouser" })).ToContainTextAsync("6");
        await Expect(bo.GetByTestId("gallery-tile").First).ToContainTextAsync("trouser");
        Assert.True(await bo.EvaluateAsync<bool>("window.__notReloaded === true"));
        await Expect(ana.GetByTestId("live-note")).ToHaveCountAsync(0); // her own change is not news to her

        // Ana deletes an image; both pages drop it; "Undo" in her snackbar brings it back for both.
        await Expect(ana.GetByText("Relabelled 2 image(s) as trouser.")).ToBeHiddenAsync(new() { Timeout = 15_000 }); // a clean screenshot
        await ana.GetByTestId("tile-select").Nth(2).CheckAsync();
        await ana.GetByTestId("delete-selected").ClickAsync();
        await ana.GetByTestId("confirm").ClickAsync();
        await Expect(ana.GetByText("Deleted 1 image(s).")).ToBeVisibleAsync();
        await Expect(bo.GetByTestId("dataset-counts")).ToContainTextAsync("11 images in 3 classes");
        await Expect(bo.GetByTestId("live-note")).ToContainTextAsync($"{anaEmail} deleted 1 image");
        await ana.SetViewportSizeAsync(1280, 1500);
        await ana.EvaluateAsync("window.scrollTo(0, 0)");
        await ana.WaitForTimeoutAsync(700); // the snackbar's fade-in
        await ana.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "dataset-live.png") });
        await ClickUndoAsync(ana);
        await Expect(ana.GetByTestId("dataset-counts")).ToContainTextAsync("12 images in 3 classes");
        await Expect(bo.GetByTestId("dataset-counts")).ToContainTextAsync("12 images in 3 classes");
        await Expect(bo.GetByTestId("live-note")).ToContainTextAsync($"{anaEmail} restored 1 image (undo)");
        await bo.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "dataset-live-other.png") });

        // Bo closes his browser: Ana no longer sees him.
        await bo.Context.CloseAsync();
        await Expect(ana.GetByTestId("viewer")).ToHaveCountAsync(0);
        await ana.Context.CloseAsync();
    }

    /// <summary>Clicks the snackbar's "Undo" and waits for its outcome. On a loaded 2-core CI machine one click was seen
    /// to vanish (the snackbar stayed, nothing was restored, no server error); a user whose click did nothing clicks
    /// again, and so does this test, once, after writing the web app's log to the test output to find out why.</summary>
    private async Task ClickUndoAsync(IPage page)
    {
        var undo = page.GetByRole(AriaRole.Button, new() { Name = "Undo" });
        var restored = page.GetByText("Restored 1 image(s).");
        await undo.ClickAsync();
        try
        {
            await Expect(restored).ToBeVisibleAsync(new() { Timeout = 10_000 });
            return;
        }
        catch (PlaywrightException lost)
        {
            output.WriteLine($"The first Undo click had no effect ({lost.Message.Split('\n')[0]}); web app log:\n{fixture.App.Output}");
        }
        if (await undo.IsVisibleAsync()) await undo.ClickAsync();
        await Expect(restored).ToBeVisibleAsync();
    }
}
