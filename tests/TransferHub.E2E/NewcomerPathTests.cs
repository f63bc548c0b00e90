using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TransferHub.E2E;

/// <summary>Issue 14 items 3 and 11 in a real browser: a fresh dataset shows one reason it cannot train, with "Split now",
/// which makes the launch form launchable; and an invite link brings a newly registering user into the team.</summary>
public sealed class NewcomerPathTests(BrowserWithWorkerFixture fixture) : IClassFixture<BrowserWithWorkerFixture>
{
    [Fact]
    public async Task AFreshDatasetShowsOneBlockerAndSplitNowMakesTheLaunchFormLaunchable()
    {
        var page = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(page, "nina@example.com");
        var datasetPath = await NewDatasetAsync(page, "Nina's team");

        // A zip of class folders without train/val/test: labelled, in no split.
        await (await BrowserFixture.FileInputAsync(page, "input.zip-input")).SetInputFilesAsync(new FilePayload
        {
            Name = "clothes.zip", MimeType = "application/zip", Buffer = ClassFoldersZip(["bag", "trouser"], perClass: 10),
        });
        await Expect(page.GetByTestId("import-report")).ToContainTextAsync("20 imported", new() { Timeout = 30_000 });
        var blocker = page.GetByTestId("launch-blocker");
        await Expect(blocker).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("blocker-reason")).ToHaveTextAsync(
            "The 20 labelled images are not in a split yet: a model learns from the train split and is measured on the validation and test splits.");
        await Expect(page.GetByTestId("blocker-fix")).ToHaveTextAsync("Split 70/15/15 now");
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await BrowserFixture.ScreenshotAsync(page, "newcomer-dataset-blocker.png", fullPage: false);

        // The launch form says the same one thing: no "needs 2 classes", no "without a label or split", no "0 training images".
        await BrowserFixture.GoInteractiveAsync(page, datasetPath + "/train");
        await Expect(blocker).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("blocker-reason")).ToContainTextAsync("not in a split yet");
        await Expect(page.GetByTestId("more-blockers")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("launch-data")).Not.ToContainTextAsync("without a label");
        await Expect(page.GetByTestId("launch-summary")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("launch")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("backbone")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "newcomer-launch-blocked.png");

        await page.GetByTestId("blocker-fix").ClickAsync();
        await Expect(page.GetByText(new Regex(@"Split: 12 train, 4 validation, 4 test"))).ToBeVisibleAsync();
        await Expect(blocker).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("launch-data")).ToContainTextAsync("2 classes · 12 train · 4 val · 4 test images");
        await Expect(page.GetByTestId("launch-summary")).ToContainTextAsync("16 train + val images");
        await Expect(page.GetByTestId("launch")).ToBeEnabledAsync();
        await BrowserFixture.ScreenshotAsync(page, "newcomer-launch-ready.png", hideSnackbars: true);

        await page.GetByTestId("launch").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/runs/\d+$"));
    }

    [Fact]
    public async Task AnInviteLinkBringsANewlyRegisteringUserIntoTheTeamWithTheChosenRole()
    {
        var owner = await fixture.Browser.NewPageAsync();
        await BrowserFixture.RegisterAsync(owner, "olga@example.com");
        var teamUrl = await NewTeamAsync(owner, "Herbarium");
        // The chosen role must show in the select before the link is created (CI once saw the click on "Viewer" not
        // take, and the link offered Editor, the default): choose again until it shows, at most three times.
        var role = owner.GetByTestId("invite-role"); // MudSelect shows its value as text, not in an input
        await Expect(role).ToContainTextAsync("Editor"); // the default
        for (var attempt = 1; ; attempt++)
        {
            await owner.GetByTestId("invite-role").ClickAsync();
            await owner.GetByRole(AriaRole.Option, new() { Name = "Viewer" }).ClickAsync();
            try
            {
                await Expect(role).ToContainTextAsync("Viewer", new() { Timeout = 3_000 });
                await Expect(role).Not.ToContainTextAsync("Editor");
                break;
            }
            catch (PlaywrightException) when (attempt < 3)
            {
            }
        }
        await owner.GetByTestId("create-invite").ClickAsync();
        var link = (await owner.GetByTestId("invite-link").TextContentAsync())!.Trim();
        Assert.Matches(@"/invite/thi_[A-Za-z0-9_-]{43}$", link);
        await Expect(owner.GetByTestId("invite-state")).ToHaveTextAsync("open");
        await BrowserFixture.ScreenshotAsync(owner, "newcomer-invite-link.png", hideSnackbars: true);

        // Someone without an account opens the link in their own browser, registers from it and lands in the team.
        var invitee = await fixture.Browser.NewPageAsync();
        await invitee.GotoAsync(link);
        await Expect(invitee.GetByRole(AriaRole.Heading, new() { Name = "Join Herbarium" })).ToBeVisibleAsync();
        await Expect(invitee.GetByTestId("invitation-offer")).ToContainTextAsync("olga@example.com invited you to the team Herbarium as viewer");
        await BrowserFixture.ScreenshotAsync(invitee, "newcomer-invitation.png");
        await invitee.GetByTestId("invitation-register").ClickAsync();
        await Expect(invitee.GetByTestId("invitation-note")).ToContainTextAsync("Once registered, you join the team Herbarium as viewer");
        await invitee.FillAsync("#Input\\.Email", "pavel@example.com");
        await invitee.FillAsync("#Input\\.Password", "Correct-horse-1");
        await invitee.FillAsync("#Input\\.ConfirmPassword", "Correct-horse-1");
        await invitee.ClickAsync("button[type=submit]");

        await Expect(invitee).ToHaveURLAsync(new Regex(Regex.Escape(teamUrl) + @"\?joined=1$"));
        await Expect(invitee.GetByTestId("joined")).ToContainTextAsync("Welcome to Herbarium: you joined as viewer.");
        await Expect(invitee.GetByTestId("members-table")).ToContainTextAsync("pavel@example.com");
        await Expect(invitee.GetByTestId("invitations-panel")).ToHaveCountAsync(0); // a viewer manages no links
        await BrowserFixture.ScreenshotAsync(invitee, "newcomer-joined.png");

        // The owner sees the link spent; opened again, it no longer works.
        await BrowserFixture.GoInteractiveAsync(owner, teamUrl);
        await Expect(owner.GetByTestId("invite-state")).ToContainTextAsync("used by pavel@example.com");
        await Expect(owner.GetByTestId("members-table")).ToContainTextAsync("pavel@example.com");
        var late = await fixture.Browser.NewPageAsync();
        await late.GotoAsync(link);
        await Expect(late.GetByTestId("invitation-problem")).ToContainTextAsync("already been used");
    }

    private static async Task<string> NewTeamAsync(IPage page, string name)
    {
        await BrowserFixture.GoInteractiveAsync(page, "teams");
        await page.GetByLabel("New team name").FillAsync(name);
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create team" });
        await Expect(create).ToBeEnabledAsync();
        await create.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/teams/\d+$"));
        await page.GetByTestId("interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        return new Uri(page.Url).AbsolutePath;
    }

    /// <summary>A team, a project and an empty dataset; returns the dataset's path (<c>datasets/N</c>).</summary>
    private static async Task<string> NewDatasetAsync(IPage page, string team)
    {
        await NewTeamAsync(page, team);
        await BrowserFixture.GoInteractiveAsync(page, "projects");
        await page.GetByTestId("new-project").ClickAsync();
        await page.GetByLabel("Name").First.FillAsync("Wardrobe");
        await page.GetByTestId("save-project").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Wardrobe" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/projects/\d+$"));
        await page.GetByTestId("new-dataset").ClickAsync();
        await page.GetByLabel("Dataset name").FillAsync("Clothes");
        await page.GetByTestId("save-dataset").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/datasets/\d+$"));
        return new Uri(page.Url).AbsolutePath.TrimStart('/');
    }

    /// <summary>The first <paramref name="perClass"/> Fashion-MNIST images of each class as <c>class/file</c> (no split folders).</summary>
    private static byte[] ClassFoldersZip(string[] classes, int perClass)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var name in classes)
                foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist", name)).Order(StringComparer.Ordinal).Take(perClass))
                    zip.CreateEntryFromFile(file, $"{name}/{Path.GetFileName(file)}");
        return buffer.ToArray();
    }
}
