using System.Text.RegularExpressions;
using Bunit;
using MudBlazor.Services;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>bUnit: the per-class table keeps its numbers in view: long names wrap in their own cell (the stylesheet
/// lets them break anywhere and keeps the numbers on one line), right-to-left names keep their direction.</summary>
public sealed partial class ClassScoresTableTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ClassScoresTableTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public void LongNamesWrapInTheirCellAndTheNumbersStayOnOneLine()
    {
        var longName = string.Concat(Enumerable.Repeat("Pseudomonas_aeruginosa_", 5)) + "type_A";
        var table = _context.Render<ClassScoresTable>(p => p
            .Add(c => c.Scores, [new ClassScore(longName, 0.5, 0.25, 0.333, 4), new ClassScore("חתול", 1, 1, 1, 2)])
            .Add(c => c.Macro, new ClassScore("macro avg", 0.75, 0.625, 0.667, 6))
            .Add(c => c.Weighted, new ClassScore("weighted avg", 0.7, 0.5, 0.55, 6)));

        Assert.Contains("class-scores", table.Find("[data-testid=class-scores]").ClassName);
        var rows = table.FindAll("[data-testid=class-score-row]");
        Assert.Equal(2, rows.Count);
        var name = rows[0].QuerySelector("td")!;
        Assert.Equal(longName, name.TextContent); // whole, not cut
        Assert.Contains("class-cell", name.ClassName);
        Assert.Equal("auto", rows[1].QuerySelector("td")!.GetAttribute("dir"));
        Assert.Equal(4, rows[0].QuerySelectorAll("td.num").Length);

        var css = Regex.Replace(File.ReadAllText(Path.Combine(RepositoryRoot(), "web", "wwwroot", "app.css")), @"\s+", " ");
        Assert.Matches(@"\.class-scores table \{[^}]*table-layout: fixed", css);
        Assert.Matches(@"\.class-scores td\.class-cell \{[^}]*overflow-wrap: anywhere", css);
        Assert.Matches(@"\.class-scores td\.num \{[^}]*white-space: nowrap", css);
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "TransferHub.sln")))
                return folder.FullName;
        throw new InvalidOperationException("TransferHub.sln not found above the test's folder.");
    }
}
