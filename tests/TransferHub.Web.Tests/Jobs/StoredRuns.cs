using System.Text.Json;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
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
}
