using System.IO.Compression;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Datasets.Splits;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Features.Sample;

/// <summary>Seeds the sample (see <see cref="SampleOptions"/>) through the same services a user goes through: the
/// images are imported from a zip like an upload, split 70/15/15 by class with a fixed seed, and the test split is
/// frozen. Does nothing when any account exists.</summary>
public sealed class SampleSeeder(
    IOptions<SampleOptions> options,
    UserManager<ApplicationUser> users,
    TeamService teams,
    ProjectService projects,
    DatasetService datasets,
    DatasetImportService import,
    DatasetSplitService splits,
    IHostEnvironment environment,
    ILogger<SampleSeeder> logger)
{
    public async Task<bool> SeedAsync(CancellationToken cancellationToken = default)
    {
        var sample = options.Value;
        if (!sample.Enabled || users.Users.Any()) return false;
        var folder = Path.GetFullPath(Path.Combine(environment.ContentRootPath, sample.Folder));
        if (!Directory.Exists(folder))
        {
            logger.LogWarning("The sample folder {Folder} does not exist; starting without the sample", folder);
            return false;
        }

        var user = new ApplicationUser { UserName = sample.Email, Email = sample.Email, EmailConfirmed = true };
        var created = await users.CreateAsync(user, sample.Password);
        if (!created.Succeeded)
            throw new InvalidOperationException("The sample account could not be created: " + string.Join(" ", created.Errors.Select(e => e.Description)));

        var team = await teams.CreateAsync(user.Id, "Demo team", cancellationToken);
        var project = await projects.CreateAsync(user.Id, team, "Sample project", "Created at first start so you can train right away.", cancellationToken);
        var dataset = await datasets.CreateAsync(user.Id, project, "Fashion sample", cancellationToken);
        var zipPath = Path.GetTempFileName();
        try
        {
            await using (var zip = File.Create(zipPath))
                WriteZip(zip, folder, sample.Classes);
            await using var stream = File.OpenRead(zipPath);
            var report = await import.ImportZipAsync(user.Id, dataset, stream, cancellationToken: cancellationToken);
            await splits.SplitAsync(user.Id, dataset, new SplitRatios(0.7, 0.15, 0.15), seed: 1, cancellationToken);
            await splits.SetTestSplitFrozenAsync(user.Id, dataset, true, cancellationToken);
            logger.LogInformation("Sample ready: sign in as {Email} / {Password}; dataset \"Fashion sample\" ({Images} images) is split and ready to train",
                sample.Email, sample.Password, report.Accepted);
        }
        finally
        {
            File.Delete(zipPath);
        }
        return true;
    }

    /// <summary>A folder-per-class zip of the chosen class folders.</summary>
    private static void WriteZip(Stream destination, string folder, IReadOnlyCollection<string> classes)
    {
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create);
        foreach (var classFolder in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(classFolder);
            if (classes.Count > 0 && !classes.Contains(name)) continue;
            foreach (var file in Directory.GetFiles(classFolder).Order(StringComparer.Ordinal))
                zip.CreateEntryFromFile(file, $"{name}/{Path.GetFileName(file)}", CompressionLevel.NoCompression);
        }
    }
}

public static class SampleExtensions
{
    public static void AddSample(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SampleOptions>().BindConfiguration(SampleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<SampleSeeder>();
    }

    /// <summary>Seeds the sample into a fresh database (no accounts yet) when Sample:Enabled.</summary>
    public static async Task SeedSampleAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<SampleSeeder>().SeedAsync();
    }
}
