using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>The gallery's paging at 10,000 images (rows only, no files) returns exactly the right page. Correctness
/// only: the timing lives in bench/TransferHub.Web.Bench (docs/benchmarks.md).</summary>
public sealed class GalleryPagingAtScaleTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private const int Images = 10_000, PageSize = ImageGallery.PageSize;
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task EveryPageAtTenThousandImagesHoldsExactlyTheRightImagesWithAndWithoutFilters()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Ten thousand");
        // Another dataset's rows in between make sure paging never strays outside the dataset.
        var otherId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Neighbour");
        await using (var db = await app.DbAsync())
        {
            var classes = new[] { "cat", "dog", "owl" }.Select((name, n) => new DatasetClass { DatasetId = datasetId, Name = name, Ordinal = n }).ToList();
            db.DatasetClasses.AddRange(classes);
            await db.SaveChangesAsync();
            // Rows only, inserted in one transaction with one prepared command (EF takes seconds for 10,000 rows).
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var insert = connection.CreateCommand();
            // Quoted names and @parameters: the same SQL on SQLite and PostgreSQL.
            insert.CommandText = "INSERT INTO \"DatasetImages\" (\"DatasetId\", \"Sha256\", \"ClassId\", \"Split\", \"OriginalName\", " +
                "\"Width\", \"Height\", \"Flagged\", \"AddedAt\") VALUES (@dataset, @sha, @class, @split, @name, 32, 32, FALSE, @at)";
            var values = new[] { "@dataset", "@sha", "@class", "@split", "@name", "@at" }.Select(name =>
            {
                var parameter = insert.CreateParameter();
                parameter.ParameterName = name;
                insert.Parameters.Add(parameter);
                return parameter;
            }).ToArray();
            for (var n = 0; n < Images; n++)
            {
                values[0].Value = n % 1000 == 999 ? otherId : datasetId; // 10 rows go to the neighbour
                values[1].Value = $"{n:x64}";
                values[2].Value = n % 7 == 0 ? DBNull.Value : classes[n % 3].Id;
                values[3].Value = ((DatasetSplit)(n % 4)).ToString();
                values[4].Value = $"{n}.png";
                values[5].Value = DateTime.UtcNow;
                await insert.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }
        await using var read = await app.DbAsync();
        var all = await read.DatasetImages.Where(i => i.DatasetId == datasetId).OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.ClassId, i.Split, i.OriginalName }).ToListAsync();
        var dog = (await _services.Datasets.GetAsync(s.ViewerId, datasetId))!.Classes.Single(c => c.Name == "dog").ClassId;

        async Task Check(int? classId, DatasetSplit? split, int page)
        {
            var expected = all.Where(i => (classId is null || i.ClassId == classId) && (split is null || i.Split == split)).ToList();
            var got = await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, classId, split, page, PageSize);
            Assert.Equal(expected.Count, got.Total);
            Assert.Equal(expected.Skip((page - 1) * PageSize).Take(PageSize).Select(i => (i.Id, i.OriginalName)), got.Items.Select(i => (i.Id, i.OriginalName)));
            Assert.All(got.Items, i => Assert.Equal((classId ?? i.ClassId, split ?? i.Split), (i.ClassId, i.Split)));
        }

        Assert.Equal(Images - 10, all.Count);
        foreach (var page in new[] { 1, 2, 100, 208, 209 }) // 9,990 images: page 209 holds the last 6
            await Check(null, null, page);
        Assert.Equal(6, (await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 209, PageSize)).Items.Count);
        Assert.Empty((await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 210, PageSize)).Items);
        await Check(dog, null, 30);
        await Check(null, DatasetSplit.Test, 25);
        await Check(dog, DatasetSplit.Val, 5);
        Assert.Equal(0, (await _services.Datasets.PageImagesAsync(s.OutsiderId, datasetId, null, null, 100, PageSize)).Total);
    }
}
