using System.IO.Compression;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Integration.Tests;

/// <summary>The tiny dataset the job tests train on (two colour classes with random shapes, split 60/20/20), and
/// ways to wait for a run to reach a state.</summary>
internal static class JobTestData
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>A feature-extraction run that takes a few seconds on two CPU cores.</summary>
    public static JobSettings QuickRun(int epochs = 3) => new()
    {
        Backbone = "resnet18x3-imagenet",
        Mode = TrainingMode.FeatureExtraction,
        UnfreezeStages = 0,
        LearningRate = 0.01,
        Epochs = epochs,
        BatchSize = 8,
        ImageSize = 64,
        EarlyStoppingPatience = 0,
        Seed = 3,
    };

    /// <summary>A fine-tuning run whose epochs take long enough to interrupt one mid-way.</summary>
    public static JobSettings SlowRun(int epochs) => new()
    {
        Backbone = "resnet18x3-imagenet",
        Mode = TrainingMode.FineTune,
        UnfreezeStages = 0,
        LearningRate = 1e-3,
        Epochs = epochs,
        BatchSize = 4,
        ImageSize = 96,
        EarlyStoppingPatience = 0,
        Seed = 3,
    };

    public static async Task<(string UserId, int ProjectId, int DatasetId)> TrainableDatasetAsync(WebHost web, int perClass = 10)
    {
        var user = await web.CreateAdminAsync();
        return await web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Colours");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Colours", null);
            var dataset = await s.GetRequiredService<DatasetService>().CreateAsync(user, project, "Colours");
            var report = await s.GetRequiredService<DatasetImportService>().ImportZipAsync(user, dataset, Zip(perClass));
            Assert.Equal(2 * perClass, report.Accepted);
            await s.GetRequiredService<DatasetSplitService>().SplitAsync(user, dataset, new SplitRatios(0.6, 0.2, 0.2), seed: 1);
            return (user, project, dataset);
        });
    }

    public static Task<IReadOnlyList<int>> LaunchAsync(WebHost web, string user, int dataset, JobSettings settings) =>
        web.InScopeAsync(s => s.GetRequiredService<JobService>().LaunchAsync(user, dataset, settings));

    public static async Task<TrainingJob> JobAsync(WebHost web, int jobId) =>
        await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.Jobs.AsNoTracking().Include(j => j.Epochs).Include(j => j.Logs).FirstAsync(j => j.Id == jobId);
        });

    /// <summary>Polls the database (what every page reads) until the run satisfies <paramref name="until"/>.</summary>
    public static async Task<TrainingJob> WaitForAsync(WebHost web, int jobId, Func<TrainingJob, bool> until, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var job = await JobAsync(web, jobId);
            if (until(job)) return job;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Run {jobId} never got to: {what}. It is {job.Status} at epoch {job.EpochsDone}: {job.Message}\n" +
                    string.Join("\n", job.Logs.Select(l => $"{l.Level}: {l.Message}")));
            await Task.Delay(100);
        }
    }

    /// <summary>The colour images as a zip laid out <c>class/image</c>, or <c>train|val|test/class/image</c> (60/20/20)
    /// with <paramref name="inSplitFolders"/>.</summary>
    public static MemoryStream Zip(int perClass, bool inSplitFolders = false)
    {
        var zip = new MemoryStream();
        var random = new Random(7);
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, colour) in new[] { ("red", new SKColor(200, 40, 40)), ("blue", new SKColor(40, 60, 200)) })
                for (var i = 0; i < perClass; i++)
                {
                    var split = !inSplitFolders ? "" : i < perClass * 6 / 10 ? "train/" : i < perClass * 8 / 10 ? "val/" : "test/";
                    using var entry = archive.CreateEntry($"{split}{name}/{name}-{i}.png").Open();
                    entry.Write(Image(colour, random));
                }
        }
        zip.Position = 0;
        return zip;
    }

    private static byte[] Image(SKColor colour, Random random)
    {
        using var surface = SKSurface.Create(new SKImageInfo(80, 80));
        surface.Canvas.Clear(new SKColor((byte)random.Next(200, 256), (byte)random.Next(200, 256), (byte)random.Next(200, 256)));
        using var paint = new SKPaint { Color = colour, IsAntialias = true };
        for (var s = 0; s < 3; s++)
            surface.Canvas.DrawCircle(random.Next(10, 70), random.Next(10, 70), random.Next(10, 25), paint);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
