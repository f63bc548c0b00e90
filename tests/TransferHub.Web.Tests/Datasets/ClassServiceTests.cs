using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

public sealed class ClassServiceTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope();
    private readonly ServiceScope _services = new(app);

    public void Dispose()
    {
        _services.Dispose();
        _scope.Dispose();
    }

    private ClassService Classes => _scope.ServiceProvider.GetRequiredService<ClassService>();

    /// <summary>Classes bag, sandal, sneaker (ordinals 0, 1, 2) with 2 train images each.</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Classes");
        var stream = TestFiles.Zip(new[] { "bag", "sandal", "sneaker" }.SelectMany(cls => TestFiles.FashionEntries(cls, 2, $"train/{cls}")));
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, stream);
        return (s, datasetId);
    }

    private async Task<List<(string Name, int Ordinal, int Images)>> ClassesAsync(int datasetId)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        var rows = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).OrderBy(c => c.Ordinal)
            .Select(c => new { c.Name, c.Ordinal, Images = db.DatasetImages.Count(i => i.ClassId == c.Id) }).ToListAsync();
        return [.. rows.Select(r => (r.Name, r.Ordinal, r.Images))];
    }

    private async Task<int> IdOfAsync(int datasetId, string name)
    {
        await using var db = await app.Service<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
        return await db.DatasetClasses.Where(c => c.DatasetId == datasetId && c.Name == name).Select(c => c.Id).SingleAsync();
    }

    [Fact]
    public async Task ClassesAreAddedRenamedAndMergedWithTheirImagesAndOrdinalsKeptDense()
    {
        var (s, datasetId) = await DatasetAsync();
        await Classes.AddAsync(s.EditorId, datasetId, "boot");
        await Classes.RenameAsync(s.EditorId, datasetId, await IdOfAsync(datasetId, "sneaker"), "trainer");
        var duplicate = await Assert.ThrowsAsync<RuleViolationException>(() => Classes.AddAsync(s.EditorId, datasetId, " bag "));
        Assert.Contains("already has a class named \"bag\"", duplicate.Message);

        Assert.Equal(2, await Classes.MergeAsync(s.EditorId, datasetId, await IdOfAsync(datasetId, "sandal"), await IdOfAsync(datasetId, "trainer")));

        Assert.Equal([("bag", 0, 2), ("trainer", 1, 4), ("boot", 2, 0)], await ClassesAsync(datasetId));
    }

    [Fact]
    public async Task DeletingAClassWithImagesDoesWhatTheUserChose()
    {
        var (s, datasetId) = await DatasetAsync();

        Assert.Equal(2, (await Classes.DeleteAsync(s.EditorId, datasetId, await IdOfAsync(datasetId, "bag"), ClassImagesOnDelete.Unlabel)).Images);
        Assert.Equal(2, (await Classes.DeleteAsync(s.EditorId, datasetId, await IdOfAsync(datasetId, "sandal"), ClassImagesOnDelete.DeleteImages)).Images);

        Assert.Equal([("sneaker", 0, 2)], await ClassesAsync(datasetId));
        var overview = (await _services.Datasets.GetAsync(s.EditorId, datasetId))!;
        Assert.Equal(4, overview.Dataset.Images); // 2 unlabelled bags kept, 2 sandals deleted
    }

    [Fact]
    public async Task ViewersAndOutsidersCannotChangeClasses()
    {
        var (s, datasetId) = await DatasetAsync();
        var bag = await IdOfAsync(datasetId, "bag");
        await Assert.ThrowsAsync<ForbiddenException>(() => Classes.RenameAsync(s.ViewerId, datasetId, bag, "purse"));
        await Assert.ThrowsAsync<NotFoundException>(() => Classes.DeleteAsync(s.OutsiderId, datasetId, bag, ClassImagesOnDelete.DeleteImages));
        await Assert.ThrowsAsync<RuleViolationException>(() => Classes.MergeAsync(s.EditorId, datasetId, bag, bag));
        Assert.Equal(3, (await ClassesAsync(datasetId)).Count);
    }

    [Fact]
    public async Task AddedAndRenamedNamesAreComposedTrimmedAndCaseSensitive()
    {
        var (s, datasetId) = await DatasetAsync();
        var cafe = await Classes.AddAsync(s.EditorId, datasetId, "cafe\u0301 "); // NFD, as typed on a Mac, with a space
        // The same name in either form is the same class…
        foreach (var same in new[] { "caf\u00E9", "cafe\u0301" })
            Assert.Contains("already has a class named \"caf\u00E9\"",
                (await Assert.ThrowsAsync<RuleViolationException>(() => Classes.AddAsync(s.EditorId, datasetId, same))).Message);
        var bag = await IdOfAsync(datasetId, "bag");
        await Assert.ThrowsAsync<RuleViolationException>(() => Classes.RenameAsync(s.EditorId, datasetId, bag, "cafe\u0301"));
        // …while a name that differs only by case is another class (EMNIST's a and A are different letters).
        await Classes.AddAsync(s.EditorId, datasetId, "Bag");
        await Classes.RenameAsync(s.EditorId, datasetId, await IdOfAsync(datasetId, "sneaker"), "CAF\u0045\u0301");
        // Names that cannot be one are refused.
        Assert.Contains("U+FFFD", (await Assert.ThrowsAsync<RuleViolationException>(() => Classes.AddAsync(s.EditorId, datasetId, "B\uFFFDr"))).Message);
        Assert.Contains("surrogate", (await Assert.ThrowsAsync<RuleViolationException>(() => Classes.RenameAsync(s.EditorId, datasetId, cafe, "x\uDC00"))).Message);

        Assert.Equal([("bag", 0, 2), ("sandal", 1, 2), ("CAF\u00C9", 2, 2), ("caf\u00E9", 3, 0), ("Bag", 4, 0)], await ClassesAsync(datasetId));
    }
}
