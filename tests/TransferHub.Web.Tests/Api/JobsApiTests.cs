using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Storage;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Jobs;
using ClassWeighting = TransferHub.Worker.V1.ClassWeighting;
using JobSpec = TransferHub.Worker.V1.JobSpec;

namespace TransferHub.Web.Tests.Api;

/// <summary>Runs over the API without a worker: launched runs stay queued, finished runs are written to the database
/// (<see cref="StoredRuns"/>). Training, the model and prediction with a real worker are in the integration tests.</summary>
public sealed class JobsApiTests(JobsApiTests.NoWorker app) : IClassFixture<JobsApiTests.NoWorker>, IDisposable
{
    /// <summary>No local worker is registered, so nothing depends on what listens on this machine.</summary>
    public sealed class NoWorker : WebAppFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Workers:Local:Address"] = "" };
    }

    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private const string Backbone = "resnet18x3-imagenet";

    /// <summary>Bags and sandals in train/val/test folders (6/2/2 each), or with no split.</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync(bool split = true)
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var entries = new List<(string, byte[])>();
        foreach (var cls in new[] { "bag", "sandal" })
            entries.AddRange(TestFiles.FashionEntries(cls, 10, cls).Select((f, i) =>
                ((split ? (i < 6 ? "train/" : i < 8 ? "val/" : "test/") : "") + f.Path, f.Data)));
        Assert.Equal(20, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id);
    }

    private static IReadOnlyList<int> Ids(JsonElement launched) => [.. launched.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())];

    [Fact]
    public async Task AStartedJobIsQueuedWithTheFormsDefaultsForItsModeAndWhatTheBodyGives()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var response = await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, mode = "fineTune", epochs = 4, augmentation = new { verticalFlip = true } });

        var id = Assert.Single(Ids(await response.JsonAsync(HttpStatusCode.Created)));
        Assert.Equal($"/api/v1/jobs/{id}", response.Headers.Location?.OriginalString);
        var job = await JobAsync(id);
        Assert.Equal((JobStatus.Queued, TrainingMode.FineTune, Backbone), (job.Status, job.Mode, job.Backbone));
        Assert.Equal((12, 4, 4), (job.TrainImages, job.ValImages, job.TestImages)); // known while it waits
        var settings = JsonSerializer.Deserialize<JobSettings>(job.SettingsJson)!;
        var fineTune = JobSettings.ForMode(TrainingMode.FineTune, Backbone);
        Assert.Equal(4, settings.Epochs);                                            // given
        Assert.Equal(fineTune.LearningRate, settings.LearningRate);                  // the mode's defaults for the rest
        Assert.Equal((fineTune.Augment, fineTune.Schedule, fineTune.UnfreezeStages), (settings.Augment, settings.Schedule, settings.UnfreezeStages));
        Assert.True(settings.Augmentation.VerticalFlip);
        Assert.Equal(new Web.Features.Augmentation.AugmentationForm().HorizontalFlip, settings.Augmentation.HorizontalFlip);

        var status = await (await editor.GetAsync($"api/v1/jobs/{id}")).JsonAsync();
        Assert.Equal("queued", status.GetProperty("status").GetString());
        Assert.Equal("fineTune", status.GetProperty("mode").GetString());
        Assert.True(status.GetProperty("isActive").GetBoolean());
        Assert.Equal((0, 4, 0.0), (status.GetProperty("epochsDone").GetInt32(), status.GetProperty("epochsTotal").GetInt32(),
            status.GetProperty("progress").GetDouble()));
        Assert.Empty(status.GetProperty("epochs").EnumerateArray());
        Assert.Equal(Backbone, status.GetProperty("settings").GetProperty("Backbone").GetString());
        Assert.Contains("vertical flip", status.GetProperty("settings").GetProperty("Augmentation").GetString()); // the augmentation used, step by step

        // Only a backbone: feature extraction with its defaults; repeats queue one run per seed.
        var seeds = Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, seed = 7, repeats = 2 }))
            .JsonAsync(HttpStatusCode.Created));
        Assert.Equal(2, seeds.Count);
        var first = await JobAsync(seeds[0]);
        var featureExtraction = JobSettings.ForMode(TrainingMode.FeatureExtraction, Backbone);
        Assert.Equal((TrainingMode.FeatureExtraction, 7L, 8L), (first.Mode, first.Seed, (await JobAsync(seeds[1])).Seed));
        Assert.Equal(featureExtraction.Epochs, JsonSerializer.Deserialize<JobSettings>(first.SettingsJson)!.Epochs);

        var listed = await (await editor.GetAsync($"api/v1/projects/{s.ProjectId}/jobs")).JsonAsync();
        Assert.Equal([seeds[1], seeds[0], id], listed.EnumerateArray().Select(j => j.GetProperty("id").GetInt32()));
    }

    /// <summary>shared/cases: settings the worker refuses were accepted (201) and failed on the worker as "Invalid job spec".</summary>
    [Theory]
    [InlineData("""{"mode":"fineTune","augmentation":{"rotationDegrees":500}}""", "augmentation.rotationDegrees")]
    [InlineData("""{"mode":"fineTune","augmentation":{"rotationDegrees":-5}}""", "augmentation.rotationDegrees")]
    [InlineData("""{"mode":"fineTune","augmentation":{"rotationDegrees":1e308}}""", "augmentation.rotationDegrees")]
    [InlineData("""{"mode":"fineTune","augmentation":{"brightness":50}}""", "augmentation.brightness")]
    [InlineData("""{"mode":"fineTune","augmentation":{"grayscaleProbability":7}}""", "augmentation.grayscaleProbability")]
    // Below 1 as a double, but 1 as the float the wire carries: the worker would refuse it.
    [InlineData("""{"mode":"fineTune","augmentation":{"brightness":0.9999999999}}""", "augmentation.brightness")]
    [InlineData("""{"mode":"fineTune","augmentation":{"randomCrop":true,"cropScaleMin":0}}""", "augmentation.cropScaleMin")]
    // An augmentation no run would use is said, not stored and ignored.
    [InlineData("""{"augmentation":{"rotationDegrees":45}}""", "augmentation")]
    [InlineData("""{"mode":"fineTune","augment":false,"augmentation":{"rotationDegrees":45}}""", "augmentation")]
    [InlineData("""{"seed":9223372036854775807,"repeats":3}""", "seed")]
    [InlineData("""{"seed":-4}""", "seed")]
    [InlineData("""{"backbone":"../../etc/passwd"}""", "backbone")]
    [InlineData("""{"mode":"fineTune","headFirstEpochs":10}""", "headFirstEpochs")]
    [InlineData("""{"classWeighting":"effectiveNumber","classWeightBeta":1}""", "classWeightBeta")]
    public async Task SettingsAWorkerWouldRefuseAreAnswered400WithTheirFieldAndNothingIsQueued(string body, string field)
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        var json = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
        json["backbone"] ??= Backbone;

        var problem = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", json)).JsonAsync(HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.EnumerateObject().Select(e => e.Name));
        Assert.NotEmpty(errors.GetProperty(field).EnumerateArray().Single().GetString()!);
        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.Jobs.CountAsync(j => j.DatasetId == datasetId));
    }

    [Fact]
    public async Task TheLearningRateFinderChecksSettingsAndRolesBeforeAnyWorkerIsAsked()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var auto = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/lr-finder", new { backbone = Backbone, mode = "auto" }))
            .JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Auto mode has no learning rate", auto.GetProperty("errors").GetProperty("mode")[0].GetString());
        var bad = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/lr-finder", new { backbone = Backbone, batchSize = 0 }))
            .JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["batchSize"], bad.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        var viewer = await app.ApiClientAsync(s.ViewerId);
        await (await viewer.PostJsonAsync($"api/v1/datasets/{datasetId}/lr-finder", new { backbone = Backbone })).ProblemAsync(HttpStatusCode.Forbidden);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        await (await outsider.PostJsonAsync($"api/v1/datasets/{datasetId}/lr-finder", new { backbone = Backbone })).ProblemAsync(HttpStatusCode.NotFound);
        // No worker here: the settings pass, and the answer says no worker could run it (nothing is queued either way).
        var none = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/lr-finder", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("worker", none.GetProperty("detail").GetString());
        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.Jobs.CountAsync(j => j.DatasetId == datasetId));
    }

    [Fact]
    public async Task ClassImbalanceOptionsAndHeadFirstEpochsGoFromTheApiIntoTheStoredSpecAndTheRunsSettings()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var id = Assert.Single(Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new
        {
            backbone = Backbone, mode = "fineTune", epochs = 4, headFirstEpochs = 2, classWeighting = "effectiveNumber", classWeightBeta = 0.99,
            balancedSampling = true,
        })).JsonAsync(HttpStatusCode.Created)));

        var job = await JobAsync(id);
        var settings = JsonSerializer.Deserialize<JobSettings>(job.SettingsJson)!;
        Assert.Equal((ClassWeightingKind.EffectiveNumber, 0.99, true, 2), (settings.ClassWeighting, settings.ClassWeightBeta, settings.BalancedSampling, settings.HeadFirstEpochs));
        var spec = JobSpec.Parser.ParseFrom(job.Spec);
        Assert.Equal((ClassWeighting.EffectiveNumber, 0.99f, true, true, 2),
            (spec.ClassWeighting, spec.ClassWeightBeta, spec.BalancedSampling, spec.HasHeadFirstEpochs, spec.HeadFirstEpochs));
        var shown = (await (await editor.GetAsync($"api/v1/jobs/{id}")).JsonAsync()).GetProperty("settings");
        Assert.Equal("2 epoch(s) with the backbone frozen", shown.GetProperty("Head first").GetString());
        Assert.Equal("effective number (β 0.99)", shown.GetProperty("Class weights").GetString());
        Assert.Equal("class-balanced", shown.GetProperty("Sampling").GetString());

        // Left out: fine-tuning takes the default head-first epochs (fewer when the epochs are few) and sends them, since
        // absent means "the worker's default" on the wire; feature extraction sends none; unweighted sends no β.
        var fineTune = JobSpec.Parser.ParseFrom((await JobAsync(Assert.Single(Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, mode = "fineTune", epochs = 1, earlyStoppingPatience = 0 })).JsonAsync(HttpStatusCode.Created))))).Spec);
        Assert.Equal((true, JobDefaults.HeadFirstEpochs(1), ClassWeighting.None, false), (fineTune.HasHeadFirstEpochs, fineTune.HeadFirstEpochs,
            fineTune.ClassWeighting, fineTune.BalancedSampling));
        var inverse = JobSpec.Parser.ParseFrom((await JobAsync(Assert.Single(Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, classWeighting = "inverseFrequency" })).JsonAsync(HttpStatusCode.Created))))).Spec);
        Assert.Equal((false, ClassWeighting.InverseFrequency, 0f), (inverse.HasHeadFirstEpochs, inverse.ClassWeighting, inverse.ClassWeightBeta));

        await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, classWeighting = "sideways" }))
            .ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ABackboneNoEnabledWorkerOffersIsRefusedWithTheOfferedOnes()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        int workerId;
        await using (var scope = app.Services.CreateAsyncScope())
            workerId = await scope.ServiceProvider.GetRequiredService<Web.Features.Workers.WorkerRegistryService>()
                .RegisterLocalAsync("unreachable-worker", "http://127.0.0.1:9", "token-0123456789abcdef");
        try
        {
            await using (var db = await app.DbAsync())
                await db.Workers.Where(w => w.Id == workerId).ExecuteUpdateAsync(w => w.SetProperty(x => x.Backbones, $"{Backbone},mobilenet_v2-random"));

            var problem = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = "resnet99-imagenet" }))
                .JsonAsync(HttpStatusCode.BadRequest);

            var message = problem.GetProperty("errors").GetProperty("backbone").EnumerateArray().Single().GetString()!;
            Assert.Contains("'resnet99-imagenet'", message);
            Assert.Contains($"Offered: mobilenet_v2-random, {Backbone}.", message);
            // A backbone it offered at its last contact is queued (it waits for the worker to answer).
            Assert.Single(Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Created)));
        }
        finally
        {
            await using var db = await app.DbAsync();
            await db.Workers.Where(w => w.Id == workerId).ExecuteDeleteAsync();
        }
    }

    [Fact]
    public async Task AClassWithoutTrainingImagesIsRefusedByNameAndTrainOnlyDataIsQueuedAsEvaluatedOnTrainingImages()
    {
        // shared/cases class-without-train-images.zip and train-split-only.zip, rebuilt from Fashion-MNIST images.
        var s = await TeamScenario.CreateAsync(app);
        var editor = await app.ApiClientAsync(s.EditorId);
        var noTrain = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Up and down");
        await _services.Import.ImportZipAsync(s.EditorId, noTrain, TestFiles.Zip([
            .. TestFiles.FashionEntries("bag", 1, "train/down"), .. TestFiles.FashionEntries("coat", 2, "test/down"),
            .. TestFiles.FashionEntries("sandal", 3, "test/up")]));

        var refused = await (await editor.PostJsonAsync($"api/v1/datasets/{noTrain}/jobs", new { backbone = Backbone })).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("Class 'up' has no training images", refused);

        var trainOnly = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Train only");
        await _services.Import.ImportZipAsync(s.EditorId, trainOnly, TestFiles.Zip([
            .. TestFiles.FashionEntries("bag", 3, "train/bag"), .. TestFiles.FashionEntries("sandal", 3, "train/sandal")]));
        var launched = await (await editor.PostJsonAsync($"api/v1/datasets/{trainOnly}/jobs", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Created);
        Assert.Contains(launched.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("evaluated on its own training images"));
        var id = Assert.Single(Ids(launched));
        var job = await (await editor.GetAsync($"api/v1/jobs/{id}")).JsonAsync();
        Assert.Equal("train", job.GetProperty("evaluatedSplit").GetString());
    }

    [Fact]
    public async Task ALearningRateFarAboveWhatRunsUseIsQueuedWithAWarningInTheAnswerAndTheRunsLog()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var launched = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, mode = "fineTune", learningRate = 10 })).JsonAsync(HttpStatusCode.Created);

        var warning = Assert.Single(launched.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("unusually high")).GetString();
        Assert.Equal("A learning rate of 10 is unusually high for Adam (above 0.02); runs this high usually diverge or swing. \"Find learning rate\" measures a good one.", warning);
        var job = await JobAsync(Assert.Single(Ids(launched)));
        await using (var db = await app.DbAsync())
            Assert.Contains(await db.JobLogLines.Where(l => l.JobId == job.Id).Select(l => l.Message).ToListAsync(), m => m == warning);

        // The defaults draw no such warning.
        var quiet = await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, mode = "fineTune" })).JsonAsync(HttpStatusCode.Created);
        Assert.DoesNotContain(quiet.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("unusually high"));
    }

    [Fact]
    public async Task AJobsJsonCarriesTheTrainingDoctorsFindingsAboutItsDataFromTheMomentItIsQueued()
    {
        // 4 bags and 12 sandals to train on (few, 3:1), 28 px pictures at a 224 px input, and a re-encoded copy of a
        // training bag in the test split: a near-duplicate across splits.
        var s = await TeamScenario.CreateAsync(app);
        var editor = await app.ApiClientAsync(s.EditorId);
        var dataset = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Few and leaky");
        using var bag = SkiaSharp.SKBitmap.Decode(TestFiles.Fashion("bag", 0));
        using var copy = SkiaSharp.SKImage.FromBitmap(bag).Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        Assert.Equal(18, (await _services.Import.ImportZipAsync(s.EditorId, dataset, TestFiles.Zip([
            .. TestFiles.FashionEntries("bag", 4, "train/bag"), .. TestFiles.FashionEntries("sandal", 12, "train/sandal"),
            ("test/bag/copy.jpg", copy.ToArray()), ("test/sandal/other.png", TestFiles.Fashion("sandal", 12))]))).Accepted);

        var launched = await (await editor.PostJsonAsync($"api/v1/datasets/{dataset}/jobs", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Created);
        var job = await (await editor.GetAsync($"api/v1/jobs/{Assert.Single(Ids(launched))}")).JsonAsync();

        Assert.Equal("queued", job.GetProperty("status").GetString());
        var findings = job.GetProperty("findings").EnumerateArray().ToDictionary(f => f.GetProperty("rule").GetString()!);
        Assert.Equal(["few-images", "class-imbalance", "leakage", "upscaled"], findings.Keys);
        Assert.Equal("warning", findings["leakage"].GetProperty("severity").GetString());
        Assert.Equal(1, findings["leakage"].GetProperty("numbers").GetProperty("heldOutImages").GetDouble());
        Assert.Contains("copy.jpg (test) ≈ ", findings["leakage"].GetProperty("evidence").GetString());
        Assert.Equal(4, findings["few-images"].GetProperty("numbers").GetProperty("fewestTrainImages").GetDouble());
        Assert.Equal(3, findings["class-imbalance"].GetProperty("numbers").GetProperty("ratio").GetDouble());
        Assert.Equal(8, findings["upscaled"].GetProperty("numbers").GetProperty("factor").GetDouble());
        Assert.All(findings.Values, f => Assert.False(string.IsNullOrWhiteSpace(f.GetProperty("advice").GetString())));
    }

    [Fact]
    public async Task SettingsTheFormWouldRefuseAreAnsweredWithEveryProblem()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);

        var response = await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { augment = true, epochs = 0 });
        Assert.Contains("Choose a backbone.", await response.ProblemAsync(HttpStatusCode.BadRequest));
        var problems = (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { augment = true, epochs = 0 })).JsonAsync(HttpStatusCode.BadRequest);
        var listed = (await problems).GetProperty("problems").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("Choose a backbone.", listed);
        Assert.Contains("Epochs must be 1 to 1000; got 0.", listed);
        Assert.Contains(listed, p => p!.Contains("augmentation cannot apply"));

        // A typo names the field, not the web's settings type.
        Assert.Equal("The settings do not fit: learningRat: there is no such field.", await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, learningRat = 0.1 })).ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Equal("The settings do not fit: epochs: expected a whole number.", await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs",
            new { backbone = Backbone, epochs = "ten" })).ProblemAsync(HttpStatusCode.BadRequest));
        await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone, mode = "sideways" })).ProblemAsync(HttpStatusCode.BadRequest);
        await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new[] { 1, 2 })).ProblemAsync(HttpStatusCode.BadRequest);
        await (await editor.PostBytesAsync($"api/v1/datasets/{datasetId}/jobs", "backbone=x"u8.ToArray(), "application/x-www-form-urlencoded"))
            .ProblemAsync(HttpStatusCode.UnsupportedMediaType);

        var (s2, unsplit) = await DatasetAsync(split: false);
        var other = await app.ApiClientAsync(s2.EditorId);
        Assert.Contains("not in a split yet", await (await other.PostJsonAsync($"api/v1/datasets/{unsplit}/jobs", new { backbone = Backbone }))
            .ProblemAsync(HttpStatusCode.Conflict));
        await using var db = await app.DbAsync();
        Assert.Equal(0, await db.Jobs.CountAsync(j => j.DatasetId == datasetId || j.DatasetId == unsplit));
    }

    [Fact]
    public async Task ViewersCannotStartOrCancelRunsAndOutsidersFindNone()
    {
        var (s, datasetId) = await DatasetAsync();
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        var body = new { backbone = Backbone };

        Assert.Contains("look but not change", await (await viewer.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", body)).ProblemAsync(HttpStatusCode.Forbidden));
        Assert.Equal("Dataset not found.", await (await outsider.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", body)).ProblemAsync(HttpStatusCode.NotFound));

        var editor = await app.ApiClientAsync(s.EditorId);
        var id = Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", body)).JsonAsync(HttpStatusCode.Created))[0];
        Assert.Equal("queued", (await (await viewer.GetAsync($"api/v1/jobs/{id}")).JsonAsync()).GetProperty("status").GetString());
        await (await outsider.GetAsync($"api/v1/jobs/{id}")).ProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.PostAsync($"api/v1/jobs/{id}/cancel", null)).ProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.PostAsync($"api/v1/jobs/{id}/cancel", null)).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(JobStatus.Queued, (await JobAsync(id)).Status);

        var cancelled = await (await editor.PostAsync($"api/v1/jobs/{id}/cancel", null)).JsonAsync(HttpStatusCode.Accepted);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(JobStatus.Cancelled, (await JobAsync(id)).Status);
        Assert.Contains("already ended", await (await editor.PostAsync($"api/v1/jobs/{id}/cancel", null)).ProblemAsync(HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task ACancelledRunIsRequeuedThroughTheApiWithTheUisRulesAndAuthorization()
    {
        // The run's message says "re-queue to run it again": the API must offer it (it answered 404 before).
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        var id = Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Created))[0];

        Assert.Contains("Only failed, cancelled or lost runs", await (await editor.PostAsync($"api/v1/jobs/{id}/requeue", null)).ProblemAsync(HttpStatusCode.Conflict));
        await (await editor.PostAsync($"api/v1/jobs/{id}/cancel", null)).JsonAsync(HttpStatusCode.Accepted);
        await (await viewer.PostAsync($"api/v1/jobs/{id}/requeue", null)).ProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.PostAsync($"api/v1/jobs/{id}/requeue", null)).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(JobStatus.Cancelled, (await JobAsync(id)).Status);

        var requeued = await (await editor.PostAsync($"api/v1/jobs/{id}/requeue", null)).JsonAsync(HttpStatusCode.Accepted);

        Assert.Equal("queued", requeued.GetProperty("status").GetString());
        Assert.True(requeued.GetProperty("isActive").GetBoolean());
        Assert.Equal(JobStatus.Queued, (await JobAsync(id)).Status);
        var completed = await StoredRuns.CompletedAsync(app, datasetId, seed: 2, [(0, 0.9f), (1, 0.7f)]);
        Assert.Contains("completed", await (await editor.PostAsync($"api/v1/jobs/{completed}/requeue", null)).ProblemAsync(HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task AFinishedRunGivesItsMetricsReportsAndModelToItsTeamOnly()
    {
        var (s, datasetId) = await DatasetAsync();
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (0, 0.8f), (1, 0.3f), (1, 0.7f)]);
        var viewer = await app.ApiClientAsync(s.ViewerId);

        var job = await (await viewer.GetAsync($"api/v1/jobs/{jobId}")).JsonAsync();
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(0.75, job.GetProperty("accuracy").GetDouble());
        Assert.Equal(1.0, job.GetProperty("progress").GetDouble());
        var epochs = job.GetProperty("epochs").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], epochs.Select(e => e.GetProperty("epoch").GetInt32()));
        Assert.Equal(0.7, epochs[^1].GetProperty("valAccuracy").GetDouble(), 6);
        Assert.Equal(["bag", "sandal"], job.GetProperty("classNames").EnumerateArray().Select(c => c.GetString()));

        var pdf = await viewer.GetAsync($"api/v1/jobs/{jobId}/report.pdf");
        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);
        Assert.Equal("application/pdf", pdf.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("%PDF", System.Text.Encoding.ASCII.GetString((await pdf.Content.ReadAsByteArrayAsync())[..4]));
        Assert.Contains("macro avg", await viewer.GetStringAsync($"api/v1/jobs/{jobId}/per-class.csv"));
        Assert.Equal(5, (await viewer.GetStringAsync($"api/v1/jobs/{jobId}/predictions.csv")).Trim().Split('\n').Length);
        using (var evaluation = JsonDocument.Parse(await viewer.GetStringAsync($"api/v1/jobs/{jobId}/evaluation.json")))
            Assert.Equal(0.75, evaluation.RootElement.GetProperty("accuracy").GetDouble());

        // No model was stored with this run (it never met a worker): the download says so.
        Assert.Contains("no stored model", await (await viewer.GetAsync($"api/v1/jobs/{jobId}/model")).ProblemAsync(HttpStatusCode.Conflict));
        var model = await StoredRuns.StoreModelAsync(app, jobId);
        var download = await viewer.GetAsync($"api/v1/jobs/{jobId}/model");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/zip", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"run-{jobId}-model.zip", download.Content.Headers.ContentDisposition?.FileName);
        using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(await download.Content.ReadAsByteArrayAsync())))
        {
            using var weights = new MemoryStream();
            await using (var entry = await zip.GetEntry("weights.safetensors")!.OpenAsync()) await entry.CopyToAsync(weights);
            Assert.Equal(model["weights.safetensors"], weights.ToArray());
            Assert.NotNull(zip.GetEntry("model-card.json"));
        }

        var outsider = await app.ApiClientAsync(s.OutsiderId);
        foreach (var file in new[] { "", "/report.pdf", "/per-class.csv", "/predictions.csv", "/evaluation.json", "/model" })
            await (await outsider.GetAsync($"api/v1/jobs/{jobId}{file}")).ProblemAsync(HttpStatusCode.NotFound);
        await (await outsider.PostBytesAsync($"api/v1/jobs/{jobId}/predict", TestFiles.Fashion("bag", 0), "image/png")).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AReportOfARunWithoutEvaluationIsAConflict()
    {
        var (s, datasetId) = await DatasetAsync();
        var editor = await app.ApiClientAsync(s.EditorId);
        var id = Ids(await (await editor.PostJsonAsync($"api/v1/datasets/{datasetId}/jobs", new { backbone = Backbone })).JsonAsync(HttpStatusCode.Created))[0];

        Assert.Contains("has no evaluation yet", await (await editor.GetAsync($"api/v1/jobs/{id}/report.pdf")).ProblemAsync(HttpStatusCode.Conflict));
        Assert.Contains("no stored model", await (await editor.GetAsync($"api/v1/jobs/{id}/model")).ProblemAsync(HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task PredictingNeedsAnImageACompletedRunWithAModelAndAWorker()
    {
        var (s, datasetId) = await DatasetAsync();
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.8f)]);
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var image = TestFiles.Fashion("bag", 0);

        Assert.Contains("stored model", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict", image, "image/png")).ProblemAsync(HttpStatusCode.Conflict));
        await app.Service<ModelStore>().SaveAsync(jobId, stream => stream.WriteAsync("PK"u8.ToArray()).AsTask());
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.ModelId, "m-2"));
        Assert.Contains("No worker is enabled", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict", image, "image/png"))
            .ProblemAsync(HttpStatusCode.Conflict));

        Assert.Contains("topK", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict?topK=0", image, "image/png")).ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("topK", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict?topK=many", image, "image/png")).ProblemAsync(HttpStatusCode.BadRequest));
        await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict", image, "text/plain")).ProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("empty", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/predict", [], "image/png")).ProblemAsync(HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task ExplainingChecksTheTeamTheRunsModelItsClassesAndAWorkerBeforeAsking()
    {
        var (s, datasetId) = await DatasetAsync();
        var jobId = await StoredRuns.CompletedAsync(app, datasetId, seed: 1, [(0, 0.9f), (1, 0.8f)]);
        var tested = $"{0:x64}"[..64];
        var viewer = await app.ApiClientAsync(s.ViewerId);
        var outsider = await app.ApiClientAsync(s.OutsiderId);
        var image = TestFiles.Fashion("bag", 0);

        // A run the caller cannot see does not exist, through the API and the signed-in users' heatmap URL alike.
        await (await outsider.PostBytesAsync($"api/v1/jobs/{jobId}/explain", image, "image/png")).ProblemAsync(HttpStatusCode.NotFound);
        await (await outsider.GetAsync($"api/v1/jobs/{jobId}/evaluated/{tested}/heatmap.png?class=0")).ProblemAsync(HttpStatusCode.NotFound);
        var outsiderCookie = await app.SignedInClientAsync(s.Email("outsider"), s.OutsiderId);
        Assert.Equal(HttpStatusCode.NotFound, (await outsiderCookie.GetAsync($"runs/{jobId}/evaluated/{tested}/heatmap.png?class=0")).StatusCode);

        // No stored model yet.
        Assert.Contains("stored model", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain", image, "image/png")).ProblemAsync(HttpStatusCode.Conflict));
        await app.Service<ModelStore>().SaveAsync(jobId, stream => stream.WriteAsync("PK"u8.ToArray()).AsTask());
        await using (var db = await app.DbAsync())
            await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.ModelId, "m-2"));

        // The request is checked against the run before any worker is asked…
        Assert.Contains("'shoe' is not a class of this run (its classes: bag, sandal)",
            await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain?class=bag&class=shoe", image, "image/png")).ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("Each class at most once", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain?class=bag&class=bag", image, "image/png"))
            .ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("The class must be 0 to 1", await (await viewer.GetAsync($"api/v1/jobs/{jobId}/evaluated/{tested}/heatmap.png?class=2"))
            .ProblemAsync(HttpStatusCode.BadRequest));
        Assert.Contains("Query class", await (await viewer.GetAsync($"api/v1/jobs/{jobId}/evaluated/{tested}/heatmap.png")).ProblemAsync(HttpStatusCode.BadRequest));
        await (await viewer.GetAsync($"api/v1/jobs/{jobId}/evaluated/{new string('f', 64)}/heatmap.png?class=0")).ProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain", image, "text/plain")).ProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("empty", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain", [], "image/png")).ProblemAsync(HttpStatusCode.Conflict));

        // …and then it needs one.
        Assert.Contains("No worker is enabled", await (await viewer.PostBytesAsync($"api/v1/jobs/{jobId}/explain?class=sandal", image, "image/png"))
            .ProblemAsync(HttpStatusCode.Conflict));
        var viewerCookie = await app.SignedInClientAsync(s.Email("viewer"), s.ViewerId);
        Assert.Equal(HttpStatusCode.Conflict, (await viewerCookie.GetAsync($"runs/{jobId}/evaluated/{tested}/heatmap.png?class=0")).StatusCode);
    }
}
