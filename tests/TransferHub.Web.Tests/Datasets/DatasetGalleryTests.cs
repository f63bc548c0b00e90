using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>The gallery's paging query and the image endpoint behind its thumbnails.</summary>
public sealed class DatasetGalleryTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    /// <summary>A dataset of bag (3 train, 1 test) and sandal (2 train, 1 val) images, imported by the editor.</summary>
    private async Task<(TeamScenario Scenario, int DatasetId)> DatasetAsync()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");
        string[] paths = ["train/bag/0.png", "train/bag/1.png", "train/bag/2.png", "test/bag/3.png", "train/sandal/0.png", "train/sandal/1.png", "val/sandal/2.png"];
        var zip = TestFiles.Zip(paths.Select(path => (path, TestFiles.Fashion(path.Split('/')[1], int.Parse(path.Split('/')[2][..1])))));
        var report = await _services.Import.ImportZipAsync(s.EditorId, datasetId, zip);
        Assert.Equal(paths.Length, report.Accepted);
        return (s, datasetId);
    }

    private async Task<int> ClassIdAsync(string userId, int datasetId, string name) =>
        (await _services.Datasets.GetAsync(userId, datasetId))!.Classes.Single(c => c.Name == name).ClassId;

    [Fact]
    public async Task PagesAreFilteredByClassAndSplitAndCountAllMatches()
    {
        var (s, datasetId) = await DatasetAsync();
        var bag = await ClassIdAsync(s.ViewerId, datasetId, "bag");

        var all = await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 1, 50);
        var bags = await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, bag, null, 1, 50);
        var train = await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, DatasetSplit.Train, 1, 50);
        var bagTest = await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, bag, DatasetSplit.Test, 1, 50);

        Assert.Equal(7, all.Total);
        Assert.Equal(4, bags.Total);
        Assert.All(bags.Items, i => Assert.Equal("bag", i.ClassName));
        Assert.Equal(5, train.Total);
        Assert.All(train.Items, i => Assert.Equal(DatasetSplit.Train, i.Split));
        Assert.Equal(["test/bag/3.png"], bagTest.Items.Select(i => i.OriginalName));
    }

    [Fact]
    public async Task PagingWalksEveryImageOnceInAStableOrder()
    {
        var (s, datasetId) = await DatasetAsync();

        var pages = new List<ImagePage>();
        for (var page = 1; page <= 4; page++)
            pages.Add(await _services.Datasets.PageImagesAsync(s.OwnerId, datasetId, null, null, page, 3));

        Assert.Equal([3, 3, 1, 0], pages.Select(p => p.Items.Count));
        Assert.All(pages, p => Assert.Equal((7, 3), (p.Total, p.Pages)));
        var ids = pages.SelectMany(p => p.Items).Select(i => i.Id).ToList();
        Assert.Equal(7, ids.Distinct().Count());
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task AnOutsiderSeesNoImagesOfTheDataset()
    {
        var (s, datasetId) = await DatasetAsync();

        var page = await _services.Datasets.PageImagesAsync(s.OutsiderId, datasetId, null, null, 1, 50);

        Assert.Equal(0, page.Total);
        Assert.Empty(page.Items);
    }

    [Fact]
    public async Task AMemberGetsTheThumbnailAndOriginalWithAnImmutableCacheHeader()
    {
        var (s, datasetId) = await DatasetAsync();
        var image = (await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 1, 1)).Items.Single();
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var thumbnail = await viewer.GetAsync(DatasetImageEndpoints.ThumbnailUrl(datasetId, image.Sha256));
        var original = await viewer.GetAsync(DatasetImageEndpoints.OriginalUrl(datasetId, image.Sha256));

        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
        var jpeg = await thumbnail.Content.ReadAsByteArrayAsync();
        Assert.Equal([0xFF, 0xD8, 0xFF], jpeg[..3]);
        var cache = thumbnail.Headers.CacheControl!;
        Assert.True(cache.Private);
        Assert.Equal(TimeSpan.FromDays(365), cache.MaxAge);
        Assert.Contains(cache.Extensions, e => e.Name == "immutable");
        Assert.Equal($"\"{image.Sha256}\"", thumbnail.Headers.ETag?.Tag);
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal("image/png", original.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TestFiles.Fashion("bag", 0), await original.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AnOutsiderAWrongDatasetAndAnUnknownHashAllGet404()
    {
        var (s, datasetId) = await DatasetAsync();
        var otherDatasetId = await _services.Datasets.CreateAsync(s.OwnerId, s.ProjectId, "Empty");
        var sha = (await _services.Datasets.PageImagesAsync(s.OwnerId, datasetId, null, null, 1, 1)).Items.Single().Sha256;
        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        var owner = await app.SignedInClientAsync(s.Email("owner"), s.OwnerId);

        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync(DatasetImageEndpoints.ThumbnailUrl(datasetId, sha))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync(DatasetImageEndpoints.OriginalUrl(datasetId, sha))).StatusCode);
        // The owner can see both datasets, but the image is not in the other one.
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync(DatasetImageEndpoints.ThumbnailUrl(otherDatasetId, sha))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync(DatasetImageEndpoints.ThumbnailUrl(datasetId, new string('0', 64)))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync(DatasetImageEndpoints.ThumbnailUrl(datasetId, "..%2F..%2Fetc"))).StatusCode);
    }

    [Fact]
    public async Task AnAnonymousRequestIsSentToLogIn()
    {
        var (s, datasetId) = await DatasetAsync();
        var sha = (await _services.Datasets.PageImagesAsync(s.OwnerId, datasetId, null, null, 1, 1)).Items.Single().Sha256;
        var anonymous = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var response = await anonymous.GetAsync(DatasetImageEndpoints.ThumbnailUrl(datasetId, sha));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/Account/Login", response.Headers.Location?.ToString());
    }

    [Fact]
    public async Task TheDatasetPageOffersUploadsToEditorsOnlyAndIsNotFoundForOutsiders()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.SignedInClientAsync(s.Email("editor"), s.EditorId);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);
        var outsider = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);

        // The pre-rendered page, as the browser gets it before the circuit connects.
        var asEditor = await editor.GetStringAsync($"/datasets/{datasetId}");
        var asViewer = await viewer.GetStringAsync($"/datasets/{datasetId}");
        var asOutsider = await outsider.GetStringAsync($"/datasets/{datasetId}");

        Assert.Contains("data-testid=\"upload-panel\"", asEditor);
        Assert.Contains("7 images in 2 classes", asViewer);
        Assert.Contains("data-testid=\"class-chart\"", asViewer);
        Assert.Equal(7, System.Text.RegularExpressions.Regex.Count(asViewer, "data-testid=\"gallery-tile\""));
        Assert.DoesNotContain("upload-panel", asViewer);
        Assert.Contains("Dataset not found", asOutsider);
        Assert.DoesNotContain("Clothes", asOutsider);
        Assert.DoesNotContain("gallery-tile", asOutsider);
    }

    [Fact]
    public async Task AViewerSeesNoPrimaryTrainLinkButADisabledTrainThatSaysWhy()
    {
        // QA 2026-11-30: a viewer saw a primary TRAIN button whose launch form then said they cannot launch.
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.SignedInClientAsync(s.Email("editor"), s.EditorId);
        var viewer = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);

        var asEditor = await editor.GetStringAsync($"/datasets/{datasetId}");
        var asViewer = await viewer.GetStringAsync($"/datasets/{datasetId}");

        Assert.Matches("<a[^>]*mud-button-filled-primary[^>]*data-testid=\"train\"", asEditor);
        Assert.Contains($"href=\"datasets/{datasetId}/train\"", asEditor);
        Assert.DoesNotContain($"datasets/{datasetId}/train", asViewer);
        Assert.Matches("<button[^>]*disabled[^>]*data-testid=\"train\"|<button[^>]*data-testid=\"train\"[^>]*disabled", asViewer);
        Assert.Contains("data-testid=\"train-viewer-help\"", asViewer);
    }
}
