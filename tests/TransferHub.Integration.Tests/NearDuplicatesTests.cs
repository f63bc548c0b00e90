using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Testing;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;
using Xunit.Abstractions;

namespace TransferHub.Integration.Tests;

/// <summary>"Find near-duplicates" from the web to a real worker with the pretrained backbone.</summary>
public sealed class NearDuplicatesTests(ITestOutputHelper output) : HostedTest(output)
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "photos", name));

    private static MemoryStream Zip(params (string Path, byte[] Data)[] files)
    {
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (path, data) in files)
            {
                using var entry = archive.CreateEntry(path).Open();
                entry.Write(data);
            }
        zip.Position = 0;
        return zip;
    }

    [Fact]
    public async Task AlteredCopiesInOtherSplitsAreFoundAReSearchEmbedsOnlyNewImagesAndNotDuplicatesIsRemembered()
    {
        var web = Keep(new WebHost(NewWorker()));
        var user = await web.CreateAdminAsync();
        var (cat, astronaut) = (Photo("chelsea.jpg"), Photo("astronaut.jpg"));
        var dataset = await web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Photos");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Photos", null);
            var id = await s.GetRequiredService<DatasetService>().CreateAsync(user, project, "Photos");
            var report = await s.GetRequiredService<DatasetImportService>().ImportZipAsync(user, id, Zip(
                ("train/cat/chelsea.jpg", cat), ("test/cat/chelsea-cropped.png", ImageAlterations.Crop(cat, 0.10)),
                ("val/cat/chelsea-brighter.png", ImageAlterations.Brightness(cat, 1.2f)),
                ("train/person/astronaut.jpg", astronaut), ("test/person/astronaut-q30.jpg", ImageAlterations.Jpeg(astronaut, 30))));
            Assert.Equal(5, report.Accepted);
            return id;
        });
        var steps = new List<string>();
        var progress = new SynchronousProgress(steps);

        var found = await web.InScopeAsync(s => s.GetRequiredService<DuplicateService>().FindAsync(user, dataset, progress: progress));

        Output.WriteLine(found.Explanation);
        Assert.Equal(DuplicateMethod.Embeddings, found.Method);
        Assert.Contains("cosine similarity", found.Explanation);
        Assert.Equal((5, 5, 0), (found.Images, found.Embedded, found.Cached));
        string[][] Names(DuplicateSearch search) => [.. search.Groups.Select(g => g.Images.Select(i => i.OriginalName).Order().ToArray()).OrderBy(g => g[0])];
        Assert.Equal([["test/cat/chelsea-cropped.png", "train/cat/chelsea.jpg", "val/cat/chelsea-brighter.png"],
            ["test/person/astronaut-q30.jpg", "train/person/astronaut.jpg"]], Names(found));
        Assert.All(found.Groups, g => Assert.True(g.CrossesSplits));
        Assert.All(found.Groups.SelectMany(g => g.Images), i => Assert.InRange(i.Closest, DuplicateService.DefaultThreshold, 1.0001));
        Assert.Contains(steps, s => s.StartsWith("embedding"));
        Assert.Contains("comparing 5/5", steps);

        // A new image: only it goes to the worker.
        await web.InScopeAsync(s => s.GetRequiredService<DatasetImportService>().ImportZipAsync(user, dataset,
            Zip(("test/person/astronaut-half.png", ImageAlterations.Resize(astronaut, 0.5)))));
        var again = await web.InScopeAsync(s => s.GetRequiredService<DuplicateService>().FindAsync(user, dataset));
        Assert.Equal((6, 1, 5), (again.Images, again.Embedded, again.Cached));
        Assert.Equal(3, again.Groups.Single(g => g.Images.Any(i => i.OriginalName == "train/person/astronaut.jpg")).Images.Count);

        // "Not duplicates" on the cat group: the next search leaves its pairs apart.
        var catGroup = again.Groups.Single(g => g.Images.Any(i => i.OriginalName == "train/cat/chelsea.jpg"));
        Assert.Equal(3, await web.InScopeAsync(s => s.GetRequiredService<DuplicateService>().MarkDistinctAsync(user, dataset, [.. catGroup.Images.Select(i => i.ImageId)])));
        var after = await web.InScopeAsync(s => s.GetRequiredService<DuplicateService>().FindAsync(user, dataset));
        Assert.Equal([["test/person/astronaut-half.png", "test/person/astronaut-q30.jpg", "train/person/astronaut.jpg"]], Names(after));
        Assert.Equal(3, after.Hidden);
        Assert.Equal(0, after.Embedded);
    }

    /// <summary>Records "phrase done/total" as reported, on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SynchronousProgress(List<string> steps) : IProgress<Web.Features.Datasets.Work.WorkStep>
    {
        public void Report(Web.Features.Datasets.Work.WorkStep value)
        {
            lock (steps) steps.Add($"{value.Phrase} {value.Done}/{value.Total}");
        }
    }
}
