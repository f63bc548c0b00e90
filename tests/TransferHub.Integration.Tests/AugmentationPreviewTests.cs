using System.IO.Compression;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Augmentation;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Integration.Tests;

public sealed class AugmentationPreviewTests : IDisposable
{
    private readonly WorkerHost _worker = new();
    private readonly WebHost _web;

    public AugmentationPreviewTests() => _web = new WebHost(_worker);

    public void Dispose()
    {
        _web.Dispose();
        _worker.Dispose();
    }

    private async Task<(string UserId, int DatasetId, string Sha256)> DatasetWithAPhotoAsync()
    {
        var user = await _web.CreateAdminAsync();
        return await _web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Cats");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Cats", null);
            var dataset = await s.GetRequiredService<DatasetService>().CreateAsync(user, project, "Cats");
            var zip = new MemoryStream();
            using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            using (var entry = archive.CreateEntry("cat/chelsea.jpg").Open())
                entry.Write(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "photos", "chelsea.jpg")));
            zip.Position = 0;
            var report = await s.GetRequiredService<DatasetImportService>().ImportZipAsync(user, dataset, zip);
            Assert.Equal(1, report.Accepted);
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return (user, dataset, await db.DatasetImages.Where(i => i.DatasetId == dataset).Select(i => i.Sha256).SingleAsync());
        });
    }

    [Fact]
    public async Task TheWorkerRendersAugmentedVariantsOfADatasetImage()
    {
        var (user, dataset, sha) = await DatasetWithAPhotoAsync();
        var form = new JobSettings { ImageSize = 96, Augmentation = new AugmentationForm { GrayscaleProbability = 0 } };

        var result = await _web.InScopeAsync(s => s.GetRequiredService<AugmentationPreviewService>().PreviewAsync(user, dataset, sha, form, 4, seed: 5));

        Assert.Null(result.Problem);
        Assert.Equal("in-process-worker", result.WorkerName);
        Assert.Equal(4, result.Pngs.Count);
        Assert.Equal(4, result.Pngs.Select(Convert.ToBase64String).Distinct().Count());
        using var first = SKBitmap.Decode(result.Pngs[0]);
        Assert.Equal((96, 96), (first.Width, first.Height));

        var again = await _web.InScopeAsync(s => s.GetRequiredService<AugmentationPreviewService>().PreviewAsync(user, dataset, sha, form, 1, seed: 5));
        Assert.Equal(result.Pngs[0], again.Pngs[0]); // same seed, same pixels
    }

    [Fact]
    public async Task WithNoUsableWorkerThePreviewSaysSoInsteadOfFailing()
    {
        var (user, dataset, sha) = await DatasetWithAPhotoAsync();
        var local = (await _web.InScopeAsync(s => s.GetRequiredService<TransferHub.Web.Features.Workers.WorkerRegistryService>().ListAsync(user))).Single();
        await _web.InScopeAsync(async s => { await s.GetRequiredService<TransferHub.Web.Features.Workers.WorkerRegistryService>().SetEnabledAsync(user, local.Id, false); return 0; });

        var result = await _web.InScopeAsync(s => s.GetRequiredService<AugmentationPreviewService>().PreviewAsync(user, dataset, sha, new JobSettings(), 4, 1));

        Assert.Empty(result.Pngs);
        Assert.Contains("No worker is registered or enabled", result.Problem);
    }

    [Fact]
    public async Task AnImageOfAnotherTeamCannotBePreviewed()
    {
        var (_, dataset, sha) = await DatasetWithAPhotoAsync();
        var stranger = await _web.CreateAdminAsync(); // site admin, but not in the team
        await Assert.ThrowsAsync<NotFoundException>(() =>
            _web.InScopeAsync(s => s.GetRequiredService<AugmentationPreviewService>().PreviewAsync(stranger, dataset, sha, new JobSettings(), 1, 1)));
    }
}
