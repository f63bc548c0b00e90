using System.Diagnostics;
using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Jobs.Doctor;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Features.Teams;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>The training doctor on runs a real worker trains (issue 13): a run at a learning rate that blows it up is
/// flagged "diverged" in agreement with how the worker ended it, and a small run trained far too long on labels it can
/// only memorise is flagged "overfitting", on the run page, in the report and in the model card.</summary>
public sealed class TrainingDoctorTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task AHighLearningRateRunIsFlaggedDivergedAndASmallOverTrainedRunOverfitting()
    {
        var clock = Stopwatch.StartNew();
        var web = Keep(new WebHost(NewWorker()));
        var user = await web.CreateAdminAsync();
        var (arrows, noise) = await web.InScopeAsync(async s =>
        {
            var team = await s.GetRequiredService<TeamService>().CreateAsync(user, "Doctor");
            var project = await s.GetRequiredService<ProjectService>().CreateAsync(user, team, "Doctor", null);
            var datasets = s.GetRequiredService<DatasetService>();
            var import = s.GetRequiredService<DatasetImportService>();
            var arrows = await datasets.CreateAsync(user, project, "Arrows and colours");
            await using var zip = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TestData", "cases", "arrows-and-colours-60.zip"));
            Assert.Equal(60, (await import.ImportZipAsync(user, arrows, zip)).Accepted);
            var noise = await datasets.CreateAsync(user, project, "Shuffled labels");
            Assert.Equal(48, (await import.ImportZipAsync(user, noise, ShuffledLabels())).Accepted);
            return (arrows, noise);
        });

        // shared/cases arrows-and-colours-60.zip with its settings: fine-tune, SGD + momentum, learning rate 10, multiplier 10, all stages.
        var diverging = Assert.Single(await LaunchAsync(web, user, arrows, new JobSettings
        {
            Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FineTune, UnfreezeStages = 0, Optimizer = OptimizerChoice.SgdMomentum,
            LearningRate = 10, BackboneLrMultiplier = 10, Epochs = 3, BatchSize = 8, ImageSize = 64, EarlyStoppingPatience = 0, Seed = 1,
        }));
        // 32 training images whose labels have nothing to do with their pictures: a linear head can only memorise them.
        var memorise = QuickRun(epochs: 40);
        memorise.LearningRate = 0.03;
        var memorising = Assert.Single(await LaunchAsync(web, user, noise, memorise));

        var diverged = await WaitForAsync(web, diverging, j => j.IsFinished, "an end state");
        var overfit = await WaitForAsync(web, memorising, j => j.IsFinished, "an end state");
        Output.WriteLine($"Both runs ended after {clock.Elapsed.TotalSeconds:0.0} s.");

        Assert.True(diverged.Status == JobStatus.Diverged, $"{diverged.Status}: {diverged.Message}");
        var divergedPage = await web.InScopeAsync(s => s.GetRequiredService<JobService>().GetAsync(user, diverging));
        var divergedFinding = divergedPage!.Run.Findings[0];
        Assert.Equal((TrainingDoctor.Diverged, FindingSeverity.Error), (divergedFinding.Rule, divergedFinding.Severity));
        // The worker's own reason and advice, word for word: web and worker agree on how the run ended.
        Assert.Equal(diverged.Message, $"Diverged: {divergedFinding.Evidence} {divergedFinding.Advice}");
        Assert.StartsWith("Lower the learning rate", divergedFinding.Advice);
        Assert.Equal(10, divergedFinding.Numbers["learningRate"]);

        Assert.True(overfit.Status == JobStatus.Completed, $"{overfit.Status}: {overfit.Message}");
        var overfitPage = await web.InScopeAsync(s => s.GetRequiredService<JobService>().GetAsync(user, memorising));
        var finding = Assert.Single(overfitPage!.Run.Findings, f => f.Rule == TrainingDoctor.Overfitting);
        Output.WriteLine($"{finding.Title}: {finding.Evidence}");
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.InRange(finding.Numbers["gap"], TrainingDoctor.OverfitGap, 1);
        Assert.DoesNotContain(overfitPage.Run.Findings, f => f.Rule == TrainingDoctor.Diverged);
        // The Runs table's row, the report and the model card carry the same finding.
        var projectId = overfitPage.ProjectId;
        var listed = await web.InScopeAsync(s => s.GetRequiredService<JobService>().ListAsync(user, projectId));
        Assert.Contains(listed.Single(r => r.Id == memorising).Findings, f => f.Rule == TrainingDoctor.Overfitting);
        Assert.Contains(listed.Single(r => r.Id == diverging).Findings, f => f.Rule == TrainingDoctor.Diverged);
        var report = await web.InScopeAsync(s => s.GetRequiredService<ReportService>().BuildAsync(user, memorising));
        Assert.Contains(report!.Findings!, f => f.Rule == TrainingDoctor.Overfitting && f.Evidence == finding.Evidence);
        var card = await web.InScopeAsync(s => s.GetRequiredService<ModelFilesService>().ModelCardAsync(user, memorising));
        Assert.Contains("**Overfitting** (warning)", card);
        // The weights' source and licence, as the worker that offers the backbone reports them.
        Assert.Contains("pretrained weights from: ImageNet, ONNX from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1; " +
            "licence of the weights: MIT (the licence of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 that ships them).", card);
        Output.WriteLine($"The test took {clock.Elapsed.TotalSeconds:0.0} s.");
    }

    /// <summary>48 pictures of random coloured discs, in train/val/test folders (16/4/4 per class), labelled "odd" or
    /// "even" by their number alone.</summary>
    private static MemoryStream ShuffledLabels()
    {
        var zip = new MemoryStream();
        var random = new Random(11);
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            for (var i = 0; i < 48; i++)
            {
                var split = (i / 2) switch { < 16 => "train", < 20 => "val", _ => "test" };
                using var entry = archive.CreateEntry($"{split}/{(i % 2 == 0 ? "even" : "odd")}/{i}.png").Open();
                using var surface = SKSurface.Create(new SKImageInfo(80, 80));
                surface.Canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                for (var d = 0; d < 3; d++)
                {
                    using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
                    surface.Canvas.DrawCircle(random.Next(80), random.Next(80), random.Next(8, 30), paint);
                }
                using var image = surface.Snapshot();
                using var png = image.Encode(SKEncodedImageFormat.Png, 100);
                png.SaveTo(entry);
            }
        zip.Position = 0;
        return zip;
    }
}
