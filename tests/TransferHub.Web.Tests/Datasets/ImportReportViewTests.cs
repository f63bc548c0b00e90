using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TransferHub.Web.Features.Datasets.Import;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>bUnit: the import report says how class names were read.</summary>
public sealed class ImportReportViewTests : IAsyncLifetime
{
    private readonly BunitContext _context = new();

    public ImportReportViewTests()
    {
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        _context.Services.AddMudServices();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public void NotesOnClassNamesAreShownAboveTheFiles()
    {
        const string trimmed = "folder \"Cat \" was read as class \"Cat\" (surrounding whitespace removed): 3 files";
        const string cased = "classes \"A\", \"a\" differ only by case and are kept apart (class names are case-sensitive)";
        var report = new ImportReport([new ImportFileResult("Cat /1.png", ImportFileStatus.Accepted, "", "Cat", "folder \"Cat \" was read as class \"Cat\"")], ["Cat"])
        {
            Notes = [trimmed, cased],
        };

        var view = _context.Render<ImportReportView>(p => p.Add(c => c.Report, report).Add(c => c.Title, "letters.zip"));

        Assert.Equal([trimmed, cased], view.FindAll("[data-testid=import-notes] li").Select(li => li.TextContent));
    }

    [Fact]
    public void AReportWithoutNotesShowsNone()
    {
        var view = _context.Render<ImportReportView>(p => p.Add(c => c.Report, new ImportReport([], [])).Add(c => c.Title, "x.zip"));
        Assert.Empty(view.FindAll("[data-testid=import-notes]"));
    }
}
