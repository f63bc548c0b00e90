using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Tests.Evaluation;

/// <summary>Issue 14 items 7 and 10 without a worker: which files a "Test images" batch takes and how each card reads
/// (answer, top-k, heatmaps, a refused file naming itself; an ensemble's card), an ensemble's members beside it, and the
/// confirmation before an ensemble is made (bUnit).</summary>
public sealed class TestImagesTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public TestImagesTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private static readonly string[] Classes = ["bag", "sandal", "sneaker"];

    [Fact]
    public void ABatchTakesTenImagesRefusesEmptyAndOversizedFilesByNameAndSaysWhichWereLeftOut()
    {
        var files = Enumerable.Range(1, 13).Select(i => new TestImageFile($"photo-{i}.png", 1000 * i, "image/png")).ToList();
        files[1] = new TestImageFile("empty.png", 0, "image/png");
        files[2] = new TestImageFile("huge.jpg", 25L * 1024 * 1024, "image/jpeg");

        var (images, note) = TestImageBatch.Admit(files);

        Assert.Equal(TestImageBatch.MaxImages, images.Count);
        Assert.Equal(Enumerable.Range(0, 10), images.Select(i => i.Index));
        Assert.Equal(8, images.Count(i => i.State == TestImageState.Waiting));
        Assert.Equal("empty.png: the file is empty.", images[1].Problem);
        Assert.Equal("huge.jpg: the file is 25 MB; at most 20 MB per image.", images[2].Problem);
        Assert.Equal(TestImageState.Refused, images[2].State);
        Assert.Equal("Only the first 10 of 13 images were tested (at most 10 at a time); left out: photo-11.png, photo-12.png, photo-13.png.", note);
        Assert.Equal("Up to 10 images at a time, 20 MB each (JPEG, PNG, WebP, GIF and BMP).", TestImageBatch.LimitText);

        var (few, none) = TestImageBatch.Admit([new TestImageFile("a.png", 10, "image/png"), new TestImageFile("b.png", 10, "")]);
        Assert.Equal(2, few.Count);
        Assert.Null(none);
        Assert.All(few, i => Assert.Null(i.Problem));
    }

    [Fact]
    public void TheHeatmapsShownAreThePredictedClassAndTheTrueClassWhenChosenAndDifferent()
    {
        Assert.Equal(["bag"], TestImageBatch.ExplainedClasses("bag", null));
        Assert.Equal(["bag"], TestImageBatch.ExplainedClasses("bag", "bag"));
        Assert.Equal(["sandal", "bag"], TestImageBatch.ExplainedClasses("bag", "sandal"));
    }

    private static TestedImage Answered(string name, params (string Class, double P)[] top)
    {
        var image = new TestedImage(0, new TestImageFile(name, 100, "image/png"))
        {
            State = TestImageState.Done,
            Bytes = [1, 2, 3],
            Preview = "data:image/png;base64,AQID",
            Result = PredictionResult.Of([.. top.Select(t => new Prediction(t.Class, t.P))], threshold: 0.5, targetPrecision: 0.95, temperature: 1.3),
        };
        return image;
    }

    private static ClassHeatmap Heatmap(int index, string name, double p) => new(index, name, p, [137, 80, 78, 71], [0.5f], 0.5f, 0.5f);

    [Fact]
    public void AnAnsweredCardShowsItsFileTopClassesAndHeatmap()
    {
        var image = Answered("shoe.png", ("sneaker", 0.8), ("sandal", 0.15), ("bag", 0.05));
        image.Explanation = new ImageExplanation("sneaker", 28, 28, 2, 2, 64, "layer4", false, [Heatmap(2, "sneaker", 0.8)]);

        var card = _context.Render<PredictionCard>(p => p.Add(c => c.Image, image).Add(c => c.ClassNames, Classes));

        Assert.Equal("shoe.png", card.Find("[data-testid=predict-file-name]").TextContent.Trim());
        Assert.Equal("sneaker", card.Find("[data-testid=predict-class]").TextContent.Trim());
        Assert.Contains("at or above the 50.0", card.Find("[data-testid=predict-answer]").TextContent);
        Assert.Equal(3, card.FindAll("[data-testid=prediction]").Count);
        Assert.Contains("80.0", card.FindAll("[data-testid=prediction]")[0].TextContent);
        // A no-break space between number and "%": a narrow caption never puts "%" on a line of its own.
        Assert.Equal("predicted: sneaker · 80.0\u00a0%", card.Find("[data-testid=predict-heatmap] figcaption").TextContent.Trim());
        Assert.Empty(card.FindAll("[data-testid=predict-problem]"));

        image.TrueClass = "sandal";
        image.Explanation = image.Explanation with { Heatmaps = [Heatmap(1, "sandal", 0.15), Heatmap(2, "sneaker", 0.8)] };
        card.Render(p => p.Add(c => c.Image, image));
        Assert.Equal(["true: sandal", "predicted: sneaker"],
            card.FindAll("[data-testid=predict-heatmap] figcaption").Select(f => f.TextContent.Split('·')[0].Trim()));
    }

    [Fact]
    public void ARefusedCardNamesTheFileAndWhyAndShowsNoAnswer()
    {
        var image = new TestedImage(3, new TestImageFile("notes.txt", 12, "text/plain"));
        // As the panel gets it from a worker's refusal (QA 2026-11-30: "…could not be used: the uploaded image: this is not…").
        image.Refuse(UnusableImageException.FromWorker("the uploaded image: this is not an image in a supported format (supported formats are JPEG, PNG, WebP, GIF and BMP).").Why);

        var card = _context.Render<PredictionCard>(p => p.Add(c => c.Image, image).Add(c => c.ClassNames, Classes));

        Assert.StartsWith("notes.txt: this is not an image in a supported format", card.Find("[data-testid=predict-problem]").TextContent.Trim());
        Assert.Equal("The image could not be used: this is not an image in a supported format (supported formats are JPEG, PNG, WebP, GIF and BMP).",
            UnusableImageException.FromWorker("the uploaded image: this is not an image in a supported format (supported formats are JPEG, PNG, WebP, GIF and BMP).").Message);
        Assert.Empty(card.FindAll("[data-testid=prediction]"));
        Assert.Empty(card.FindAll("[data-testid=predict-heatmaps]"));
    }

    [Fact]
    public void AnEnsemblesCardSaysItsAnswerIsTheMembersMeanAndThatItHasNoHeatmap()
    {
        var image = Answered("bag.png", ("bag", 0.7), ("sandal", 0.3));
        image.Result = PredictionResult.Of(image.Result!.Top, threshold: null, targetPrecision: null, temperature: 1);

        var card = _context.Render<PredictionCard>(p => p.Add(c => c.Image, image).Add(c => c.ClassNames, Classes).Add(c => c.IsEnsemble, true));

        Assert.Equal("bag", card.Find("[data-testid=predict-class]").TextContent.Trim());
        Assert.Contains("mean of its members", card.Find("[data-testid=predict-answer]").TextContent);
        Assert.Contains("an ensemble has no single model", card.Find("[data-testid=ensemble-no-heatmap]").TextContent);
        Assert.Empty(card.FindAll("[data-testid=predict-true-class]"));
    }

    private static RunSummary Ensemble(double accuracy) => new(9, 1, "Shoes", JobKind.Ensemble, JobStatus.Completed, "resnet18x3-imagenet",
        TrainingMode.FeatureExtraction, 0, null, "v", 0, 0, accuracy, 0.9, null, null, null, 0, 0, null, null, DateTime.UtcNow, DateTime.UtcNow, "4,5", "test")
    { Number = 3, Name = "Pair" };

    [Fact]
    public void AnEnsemblesMembersAreListedUnderItWithTheirAccuraciesLinksAndTheGap()
    {
        EnsembleMember[] members =
        [
            new(4, 1, "baseline", "resnet18x3-imagenet", "feature extraction", JobStatus.Completed, 0.8, 0.79, "test"),
            new(5, 2, null, "mobilenet_v2", "fine-tune", JobStatus.Completed, 0.875, 0.87, "test"),
            EnsembleMember.Deleted(6),
        ];

        var panel = _context.Render<EnsembleMembersPanel>(p => p.Add(c => c.Ensemble, Ensemble(0.85)).Add(c => c.Members, members));

        Assert.Contains("85.0", panel.Find("[data-testid=ensemble-accuracy]").TextContent);
        Assert.Equal(["runs/4", "runs/5"], panel.FindAll("[data-testid=ensemble-member-link]").Select(a => a.GetAttribute("href")));
        Assert.Equal(["Run #1", "Run #2"], panel.FindAll("[data-testid=ensemble-member-link]").Select(a => a.TextContent.Trim()));
        Assert.Contains("80.0", panel.FindAll("[data-testid=ensemble-member-accuracy]")[0].TextContent);
        Assert.Equal(["−5.0 pts", "+2.5 pts", ""], panel.FindAll("[data-testid=ensemble-member-delta]").Select(d => d.TextContent.Trim()));
        Assert.Contains("Run (deleted)", panel.FindAll("[data-testid=ensemble-member]")[2].TextContent);
    }

    [Fact]
    public async Task TheConfirmationShowsTheMembersAndCreatesTheEnsembleWithTheNameTypedOrKeepsARefusalInTheDialog()
    {
        var dialogs = _context.Render<MudDialogProvider>();
        var plan = new EnsemblePlan(
            [new(4, 1, "baseline", "resnet18x3-imagenet", "feature extraction", JobStatus.Completed, 0.8, 0.79, "test"),
             new(5, 2, null, "resnet18x3-imagenet", "feature extraction", JobStatus.Completed, 0.75, 0.74, "test")],
            Images: 40, Split: "test", SuggestedName: "#1 + #2", Problem: null);
        var asked = new List<string>();
        Task<int> Create(string name)
        {
            asked.Add(name);
            return name == "taken" ? throw new Features.RuleViolationException("Run #1 of this project is already called \"taken\": choose another name.") : Task.FromResult(42);
        }

        var service = _context.Services.GetRequiredService<IDialogService>();
        var result = _context.Renderer.Dispatcher.InvokeAsync(() => EnsembleDialog.ConfirmAsync(service, plan, Create));
        dialogs.WaitForAssertion(() => Assert.Equal(2, dialogs.FindAll("[data-testid=ensemble-plan-member]").Count));

        Assert.Contains("80.0", dialogs.FindAll("[data-testid=ensemble-plan-accuracy]")[0].TextContent);
        Assert.Contains("40", dialogs.Find(".mud-dialog-content").TextContent);
        Assert.Equal("#1 + #2", dialogs.Find("input[data-testid=ensemble-name-input]").GetAttribute("value"));
        await dialogs.Find("input[data-testid=ensemble-name-input]").InputAsync(new() { Value = "taken" });
        await dialogs.Find("[data-testid=create-ensemble]").ClickAsync(new());
        dialogs.WaitForAssertion(() => Assert.Contains("already called", dialogs.Find("[data-testid=ensemble-error]").TextContent));
        await dialogs.Find("input[data-testid=ensemble-name-input]").InputAsync(new() { Value = "Best pair" });
        await dialogs.Find("[data-testid=create-ensemble]").ClickAsync(new());

        Assert.Equal(42, await result);
        Assert.Equal(["taken", "Best pair"], asked);
    }

    [Fact]
    public void AConfirmationForRunsThatCannotBeCombinedSaysWhyAndCannotBeConfirmed()
    {
        var dialogs = _context.Render<MudDialogProvider>();
        var plan = new EnsemblePlan([new(4, 1, null, "r", "feature extraction", JobStatus.Completed, 0.8, 0.79, "test")], 0, null, "#1",
            "The runs were evaluated on different test images: freeze the test split and use runs made since.");
        _ = _context.Renderer.Dispatcher.InvokeAsync(() => EnsembleDialog.ConfirmAsync(_context.Services.GetRequiredService<IDialogService>(), plan, _ => Task.FromResult(1)));

        dialogs.WaitForAssertion(() => Assert.Contains("different test images", dialogs.Find("[data-testid=ensemble-plan-problem]").TextContent));
        Assert.True(dialogs.Find("[data-testid=create-ensemble]").HasAttribute("disabled"));
        Assert.Empty(dialogs.FindAll("[data-testid=ensemble-name-input]"));
    }
}
