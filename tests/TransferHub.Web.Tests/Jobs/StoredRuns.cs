using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Storage;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Finished runs written straight to the database the way the scheduler stores them, for tests of what
/// happens after training (comparison, ensembles, reports) without a worker.</summary>
internal static class StoredRuns
{
    public static readonly string[] Classes = ["bag", "sandal"];

    /// <summary><paramref name="images"/>: per test image, its true class (0 bag, 1 sandal) and the probability the run
    /// gave that class; images get made-up hashes.</summary>
    public static Task<int> CompletedAsync(WebAppFactory app, int datasetId, long seed, (int TrueClass, float P)[] images) =>
        CompletedAsync(app, datasetId, seed, [.. images.Select((x, i) => ($"{i:x64}"[..64], x.TrueClass, x.P))]);

    /// <param name="classes">The run's two classes; <see cref="Classes"/> when null.</param>
    public static async Task<int> CompletedAsync(WebAppFactory app, int datasetId, long seed, (string Sha256, int TrueClass, float P)[] images,
        string[]? classes = null)
    {
        classes ??= Classes;
        var evaluation = RunEvaluation.Compute("test", classes, [.. images.Select(x =>
        {
            var probabilities = new float[2];
            probabilities[x.TrueClass] = x.P;
            probabilities[1 - x.TrueClass] = 1 - x.P;
            return (x.Sha256, x.TrueClass, probabilities);
        })]);
        await using var db = await app.DbAsync();
        var settings = new JobSettings
        {
            Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FeatureExtraction, Epochs = 3, EarlyStoppingPatience = 0, ImageSize = 64, Seed = seed,
        };
        var job = new TrainingJob
        {
            DatasetId = datasetId, Kind = JobKind.Training, Status = JobStatus.Completed, SettingsJson = JsonSerializer.Serialize(settings),
            Backbone = settings.Backbone, Mode = settings.Mode, Seed = seed, ClassNamesJson = JsonSerializer.Serialize(classes),
            DatasetVersion = new string('a', 64), CreatedAt = DateTime.UtcNow, FinishedAt = DateTime.UtcNow, Attempt = 1, EpochsTotal = 3, EpochsDone = 3,
            Accuracy = evaluation.Accuracy, MacroF1 = evaluation.Macro.F1, Loss = evaluation.Loss, EvaluationJson = evaluation.ToJson(),
            EvaluatedSplit = "test", BestEpoch = 2, TrainingSeconds = 12.5,
        };
        for (var e = 1; e <= 3; e++)
            job.Epochs.Add(new JobEpoch { Attempt = 1, Epoch = e, TrainLoss = 1.0 / e, TrainAccuracy = 0.5 + e / 10.0, ValLoss = 1.2 / e, ValAccuracy = 0.4 + e / 10.0, At = DateTime.UtcNow });
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        return job.Id;
    }

    /// <summary>Stores a model zip for the run (a made-up model.json and weights file, as a worker's artifact holds)
    /// and records it on the run; returns the zip's entries.</summary>
    public static async Task<IReadOnlyDictionary<string, byte[]>> StoreModelAsync(WebAppFactory app, int jobId)
    {
        var entries = new Dictionary<string, byte[]>
        {
            ["model.json"] = Encoding.UTF8.GetBytes($$"""{ "modelId": "m-{{jobId}}", "format": "transferhub-model/1" }"""),
            ["weights.safetensors"] = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 31 % 251))],
        };
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                using var entry = archive.CreateEntry(name).Open();
                entry.Write(bytes);
            }
        await app.Service<ModelStore>().SaveAsync(jobId, stream => stream.WriteAsync(zip.ToArray()).AsTask());
        await using var db = await app.DbAsync();
        await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(u => u.SetProperty(j => j.ModelId, $"m-{jobId}").SetProperty(j => j.ModelBytes, zip.Length));
        return entries;
    }
}
