using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Api;

/// <summary>Teams, projects and datasets over the API: what each role sees and may change, and a zip upload with the
/// same per-file report as the dataset page.</summary>
public sealed class CatalogApiTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private static byte[] Bytes(MemoryStream zip) => zip.ToArray();

    [Fact]
    public async Task MembersListTheirTeamsProjectsAndDatasetsAndOutsidersFindNothing()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var outsider = await app.ApiClientAsync(s.OutsiderId);

        var teams = await (await viewer.GetAsync("api/v1/teams")).JsonAsync();
        Assert.Equal([s.TeamId], teams.EnumerateArray().Select(t => t.GetProperty("id").GetInt32()));
        var projects = await (await viewer.GetAsync($"api/v1/teams/{s.TeamId}/projects")).JsonAsync();
        var project = Assert.Single(projects.EnumerateArray());
        Assert.Equal("Birds", project.GetProperty("name").GetString());
        Assert.False(project.GetProperty("canEdit").GetBoolean());
        Assert.Equal([s.ProjectId], (await (await viewer.GetAsync("api/v1/projects")).JsonAsync()).EnumerateArray().Select(p => p.GetProperty("id").GetInt32()));
        Assert.Equal("Birds", (await (await viewer.GetAsync($"api/v1/projects/{s.ProjectId}")).JsonAsync()).GetProperty("name").GetString());
        var datasets = await (await viewer.GetAsync($"api/v1/projects/{s.ProjectId}/datasets")).JsonAsync();
        Assert.Equal(datasetId, Assert.Single(datasets.EnumerateArray()).GetProperty("id").GetInt32());
        Assert.Equal("Clothes", (await (await viewer.GetAsync($"api/v1/datasets/{datasetId}")).JsonAsync()).GetProperty("dataset").GetProperty("name").GetString());

        // The outsider's own team is all they see; the other team's objects do not exist for them.
        Assert.Equal([s.OutsiderTeamId], (await (await outsider.GetAsync("api/v1/teams")).JsonAsync()).EnumerateArray().Select(t => t.GetProperty("id").GetInt32()));
        Assert.Empty((await (await outsider.GetAsync("api/v1/projects")).JsonAsync()).EnumerateArray());
        foreach (var url in new[] { $"teams/{s.TeamId}/projects", $"projects/{s.ProjectId}", $"projects/{s.ProjectId}/datasets",
                     $"projects/{s.ProjectId}/jobs", $"datasets/{datasetId}" })
            Assert.Contains("not found", await (await outsider.GetAsync($"api/v1/{url}")).ProblemAsync(HttpStatusCode.NotFound));
        // …exactly like ids that do not exist.
        Assert.Equal("Project not found.", await (await viewer.GetAsync("api/v1/projects/999999")).ProblemAsync(HttpStatusCode.NotFound));
        Assert.Equal("Project not found.", await (await outsider.GetAsync($"api/v1/projects/{s.ProjectId}")).ProblemAsync(HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task EditorsCreateDatasetsViewersMayNotAndOutsidersGetNotFound()
    {
        var s = await TeamScenario.CreateAsync(app);
        var editor = await app.ApiClientAsync(s.EditorId);

        var response = await editor.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { name = "Shoes" });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("dataset").GetProperty("id").GetInt32();
        Assert.Equal($"/api/v1/datasets/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Shoes", created.GetProperty("dataset").GetProperty("name").GetString());
        Assert.True(created.GetProperty("canEdit").GetBoolean());
        Assert.Contains(await _services.Datasets.ListAsync(s.OwnerId, s.ProjectId), d => d.Id == id && d.Name == "Shoes");

        Assert.Contains("already has a dataset named", await (await editor.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { name = "Shoes" }))
            .ProblemAsync(HttpStatusCode.Conflict));
        Assert.Contains("needs a name", await (await editor.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { name = " " }))
            .ProblemAsync(HttpStatusCode.Conflict));
        await (await editor.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { title = "Shoes" })).ProblemAsync(HttpStatusCode.BadRequest);
        await (await editor.PostAsync($"api/v1/projects/{s.ProjectId}/datasets", new StringContent("name=Shoes")))
            .ProblemAsync(HttpStatusCode.UnsupportedMediaType);

        var viewer = await app.ApiClientAsync(s.ViewerId);
        Assert.Contains("look but not change", await (await viewer.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { name = "Hats" }))
            .ProblemAsync(HttpStatusCode.Forbidden));
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await outsider.PostJsonAsync($"api/v1/projects/{s.ProjectId}/datasets", new { name = "Hats" })).ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain(await _services.Datasets.ListAsync(s.OwnerId, s.ProjectId), d => d.Name == "Hats");
    }

    [Fact]
    public async Task AZipUploadReportsEveryFileAndLandsTheGoodOnes()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        var editor = await app.ApiClientAsync(s.EditorId);
        var zip = TestFiles.Zip(TestFiles.FashionEntries("bag", 3, "train/bag")
            .Concat(TestFiles.FashionEntries("sandal", 2, "test/sandal"))
            .Append(("train/bag/notes.png", "not a picture"u8.ToArray()))
            .Append(("../escape.png", TestFiles.Fashion("bag", 5)))
            .Append(("__MACOSX/train/bag/._x.png", new byte[] { 0, 5, 22, 7 })));

        var report = await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", Bytes(zip), "application/zip")).JsonAsync();

        Assert.Equal(5, report.GetProperty("accepted").GetInt32());
        Assert.Equal(2, report.GetProperty("rejected").GetInt32());
        Assert.Equal(1, report.GetProperty("ignored").GetInt32());
        Assert.Equal(["bag", "sandal"], report.GetProperty("newClasses").EnumerateArray().Select(c => c.GetString()));
        var files = report.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(8, files.Count);
        var notes = files.Single(f => f.GetProperty("path").GetString() == "train/bag/notes.png");
        Assert.Equal("rejected", notes.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(notes.GetProperty("reason").GetString()));
        Assert.Equal("accepted", files.First(f => f.GetProperty("path").GetString()!.StartsWith("test/sandal/")).GetProperty("status").GetString());

        // The dataset now holds exactly the accepted files, counted per class and split.
        var dataset = await (await editor.GetAsync($"api/v1/datasets/{datasetId}")).JsonAsync();
        Assert.Equal(5, dataset.GetProperty("dataset").GetProperty("images").GetInt32());
        var classes = dataset.GetProperty("classes").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(3, classes["bag"].GetProperty("train").GetInt32());
        Assert.Equal(2, classes["sandal"].GetProperty("test").GetInt32());

        // Uploading the same zip again: every image is a duplicate, nothing is added twice.
        var again = await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", Bytes(zip), "application/zip")).JsonAsync();
        Assert.Equal(0, again.GetProperty("accepted").GetInt32());
        Assert.Contains("duplicate", again.GetProperty("files")[0].GetProperty("reason").GetString());
        await using var db = await app.DbAsync();
        Assert.Equal(5, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
    }

    [Fact]
    public async Task UploadsThatAreNotZipsOrNotAllowedImportNothing()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        var zip = Bytes(TestFiles.Zip(TestFiles.FashionEntries("bag", 2, "train/bag")));
        var editor = await app.ApiClientAsync(s.EditorId);

        Assert.Contains("not imported", await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", "PK but not really"u8.ToArray(), "application/zip"))
            .ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("--data-binary", await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", zip, "text/plain"))
            .ProblemAsync(HttpStatusCode.UnsupportedMediaType));
        var viewer = await app.ApiClientAsync(s.ViewerId);
        await (await viewer.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", zip, "application/zip")).ProblemAsync(HttpStatusCode.Forbidden);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await outsider.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", zip, "application/zip")).ProblemAsync(HttpStatusCode.NotFound);

        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
    }

    [Fact]
    public async Task AnEmptyZipOrOneWithoutImagesIsABadRequestThatSaysSo()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        var editor = await app.ApiClientAsync(s.EditorId);

        Assert.Equal("The zip was not imported: The archive holds no files.", await (await editor.PostBytesAsync(
            $"api/v1/datasets/{datasetId}/zip", RawZip.Empty().ToArray(), "application/zip")).ProblemAsync(HttpStatusCode.BadRequest));
        var litter = TestFiles.Zip(("bag/.DS_Store", [1, 2, 3]), ("bag/notes.txt", "not an image"u8.ToArray()));
        Assert.StartsWith("The zip was not imported: The archive holds no images (2 files", await (await editor.PostBytesAsync(
            $"api/v1/datasets/{datasetId}/zip", Bytes(litter), "application/zip")).ProblemAsync(HttpStatusCode.BadRequest));

        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
    }

    [Fact]
    public async Task ZipsUploadedThroughTheApiNameClassesByTheSameRule()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Names");
        var editor = await app.ApiClientAsync(s.EditorId);

        await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", TestFiles.Case("class-names-nfc.zip").ToArray(), "application/zip")).JsonAsync();
        var mac = await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", TestFiles.Case("class-names-nfd-macos.zip").ToArray(), "application/zip")).JsonAsync();
        var cp437 = await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", TestFiles.Case("class-names-cp437.zip").ToArray(), "application/zip")).JsonAsync();
        var cases = await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", TestFiles.Case("class-names-case-only.zip").ToArray(), "application/zip")).JsonAsync();

        Assert.Empty(mac.GetProperty("newClasses").EnumerateArray());
        Assert.Equal(["B\u00E4r", "B\u00F6r"], cp437.GetProperty("newClasses").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["a", "A", "b", "B", "Cat"], cases.GetProperty("newClasses").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("folder \"Cat \" was read as class \"Cat\" (surrounding whitespace removed): 3 files",
            cases.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(3, cases.GetProperty("files").EnumerateArray().Count(f => f.TryGetProperty("note", out var note) && note.GetString() is not null));
        var dataset = await (await editor.GetAsync($"api/v1/datasets/{datasetId}")).JsonAsync();
        Assert.Equal(["K\u00E4se", "\u72D7", "caf\u00E9", "Gr\u00FCne \u00C4pfel v1.2", "B\u00E4r", "B\u00F6r", "a", "A", "b", "B", "Cat"],
            dataset.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var cafe = dataset.GetProperty("classes").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "caf\u00E9");
        Assert.Equal(6, cafe.GetProperty("train").GetInt32()); // 4 from the NFC zip, 2 from the macOS one
    }

    [Fact]
    public async Task AnUnknownApiAddressIsAJsonNotFound()
    {
        var s = await TeamScenario.CreateAsync(app);
        var client = await app.ApiClientAsync(s.OwnerId);
        Assert.Contains("no such API endpoint", await (await client.GetAsync("api/v1/nothing/here")).ProblemAsync(HttpStatusCode.NotFound));
        await (await app.BearerClient(null).GetAsync("api/v1/nothing/here")).ProblemAsync(HttpStatusCode.Unauthorized);
    }
}

/// <summary>The API keeps the upload limits of the import settings: a body over Import:MaxUploadBytes is 413.</summary>
public sealed class ApiUploadLimitTests(ApiUploadLimitTests.SmallUploads app) : IClassFixture<ApiUploadLimitTests.SmallUploads>
{
    public sealed class SmallUploads : WebAppFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Import:MaxUploadBytes"] = "2000" };
    }

    [Fact]
    public async Task AZipOverTheUploadLimitIsRefusedAndNothingLands()
    {
        var s = await TeamScenario.CreateAsync(app);
        using var services = new ServiceScope(app);
        var datasetId = await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        var editor = await app.ApiClientAsync(s.EditorId);
        var zip = TestFiles.Zip(TestFiles.FashionEntries("bag", 10, "train/bag")).ToArray();
        Assert.True(zip.Length > 2000);

        Assert.Contains("limit", await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/zip", zip, "application/zip"))
            .ProblemAsync(HttpStatusCode.RequestEntityTooLarge));
        // Without a Content-Length the limit is enforced while the body streams in.
        var chunked = new StreamContent(new MemoryStream(zip));
        chunked.Headers.ContentType = new("application/zip");
        var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/datasets/{datasetId}/zip") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await (await editor.SendAsync(request)).ProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
    }
}
