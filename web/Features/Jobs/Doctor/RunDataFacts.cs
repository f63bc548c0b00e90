using System.Text.Json;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Duplicates;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>A class of a run and its images per split (the run's own images, as launched).</summary>
public sealed record ClassImages(string Name, int Train, int Val, int Test);

/// <summary>One group of near-duplicate images of a run that sits in more than one split: the file names, each with
/// its split ("train", "val", "test").</summary>
public sealed record LeakingGroup(IReadOnlyList<string> Images);

/// <summary>
/// What a run's data was when it was launched: its classes with images per split, its images' sizes
/// (<see cref="ImageSizeStats.Of"/>, as the dataset page counts them) and its near-duplicate groups that cross splits
/// (<see cref="DuplicateService.Group"/> at <see cref="DuplicateService.DefaultThreshold"/>, as the dataset page finds
/// them). Computed once at launch from the run's own images (they never change for the run: a re-queue sends the same
/// spec) and stored with the run as JSON; the <see cref="TrainingDoctor"/> reads it.
/// </summary>
/// <param name="Classes">In model-output order.</param>
/// <param name="LeakingGroups">How many near-duplicate groups hold images of more than one split.</param>
/// <param name="LeakingImages">Images in those groups.</param>
/// <param name="LeakingHeldOut">Validation and test images in those groups: held-out images whose picture the model
/// (nearly) trained on, or that sit in both validation and test.</param>
/// <param name="LeakExamples">The first few leaking groups, for the finding's text.</param>
/// <param name="Unhashed">Images without a difference hash (imported before hashes existed): not compared.</param>
public sealed record RunDataFacts(IReadOnlyList<ClassImages> Classes, ImageSizeStats Sizes, int DuplicateThreshold,
    int LeakingGroups, int LeakingImages, int LeakingHeldOut, IReadOnlyList<LeakingGroup> LeakExamples, int Unhashed)
{
    /// <summary>Leaking groups named in <see cref="LeakExamples"/>.</summary>
    public const int ExamplesKept = 3;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>One image of a run, with what the facts need to know of it.</summary>
    /// <param name="Hash">The 64-bit difference hash, null when the image has none yet.</param>
    public readonly record struct Image(string Name, int ClassIndex, DataSplitKind Split, int Width, int Height, long? Hash);

    public static RunDataFacts Of(IReadOnlyList<string> classNames, IReadOnlyList<Image> images)
    {
        var classes = classNames.Select((name, c) => new ClassImages(name,
            images.Count(i => i.ClassIndex == c && i.Split == DataSplitKind.Train),
            images.Count(i => i.ClassIndex == c && i.Split == DataSplitKind.Val),
            images.Count(i => i.ClassIndex == c && i.Split == DataSplitKind.Test))).ToList();
        var sizes = ImageSizeStats.Of([.. images.GroupBy(i => (i.Width, i.Height)).Select(g => (g.Key.Width, g.Key.Height, g.Count()))]);

        var hashed = images.Where(i => i.Hash is not null).ToList();
        var leaking = DuplicateService.Group([.. hashed.Select(i => i.Hash!.Value)], DuplicateService.DefaultThreshold)
            .Select(g => g.Select(i => hashed[i]).ToList())
            .Where(g => g.Select(i => i.Split).Distinct().Count() > 1)
            .ToList();
        return new RunDataFacts(classes, sizes, DuplicateService.DefaultThreshold, leaking.Count, leaking.Sum(g => g.Count),
            leaking.Sum(g => g.Count(i => i.Split != DataSplitKind.Train)),
            [.. leaking.Take(ExamplesKept).Select(g => new LeakingGroup([.. g.Select(i => $"{i.Name} ({SplitName(i.Split)})")]))],
            images.Count - hashed.Count);
    }

    private static string SplitName(DataSplitKind split) => split switch
    {
        DataSplitKind.Train => "train",
        DataSplitKind.Val => "validation",
        _ => "test",
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunDataFacts? FromJson(string? json) => json is null ? null : JsonSerializer.Deserialize<RunDataFacts>(json, Json);
}
