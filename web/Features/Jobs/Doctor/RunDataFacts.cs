using System.Text.Json;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Duplicates;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>A class of a run and its images per split (the run's own images, as launched).</summary>
public sealed record ClassImages(string Name, int Train, int Val, int Test);

/// <summary>A held-out image and a training image whose pictures are near-duplicates: "name (split)" each.</summary>
public sealed record LeakingPair(string HeldOut, string Train);

/// <summary>
/// What a run's data was when it was launched: its classes with images per split, its images' sizes
/// (<see cref="ImageSizeStats.Of"/>, as the dataset page counts them) and its held-out images that nearly duplicate a
/// training image (<see cref="DuplicateService.NearestWithin"/> within <see cref="DuplicateService.FallbackBits"/> bits of the
/// difference hash, the near-duplicate search's strict fallback: at 6 bits 28 px Fashion-MNIST garments of one kind matched). Computed once at launch from the run's own images (they never change for the run: a re-queue sends the same
/// spec) and stored with the run as JSON; the <see cref="TrainingDoctor"/> reads it.
/// </summary>
/// <param name="Classes">In model-output order.</param>
/// <param name="LeakingHeldOut">Validation and test images with a training image within the threshold (directly, not
/// through a chain of similar pictures): held-out pictures the model has practically trained on.</param>
/// <param name="LeakExamples">A few of those held-out images, each with its nearest training image, for the finding's text.</param>
/// <param name="Unhashed">Images without a difference hash (imported before hashes existed): not compared.</param>
public sealed record RunDataFacts(IReadOnlyList<ClassImages> Classes, ImageSizeStats Sizes, int DuplicateThreshold,
    int LeakingHeldOut, IReadOnlyList<LeakingPair> LeakExamples, int Unhashed)
{
    /// <summary>Leaking held-out images named in <see cref="LeakExamples"/>.</summary>
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
        var train = hashed.Where(i => i.Split == DataSplitKind.Train).ToList();
        var heldOut = hashed.Where(i => i.Split != DataSplitKind.Train).ToList();
        var nearest = DuplicateService.NearestWithin([.. heldOut.Select(i => i.Hash!.Value)], [.. train.Select(i => i.Hash!.Value)],
            DuplicateService.FallbackBits);
        var leaks = heldOut.Select((image, i) => (HeldOut: image, Train: nearest[i])).Where(l => l.Train >= 0).ToList();
        return new RunDataFacts(classes, sizes, DuplicateService.FallbackBits, leaks.Count,
            [.. leaks.Take(ExamplesKept).Select(l => new LeakingPair(Named(l.HeldOut), Named(train[l.Train])))],
            images.Count - hashed.Count);
    }

    private static string Named(Image image) => $"{image.Name} ({SplitName(image.Split)})";

    private static string SplitName(DataSplitKind split) => split switch
    {
        DataSplitKind.Train => "train",
        DataSplitKind.Val => "validation",
        _ => "test",
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunDataFacts? FromJson(string? json) => json is null ? null : JsonSerializer.Deserialize<RunDataFacts>(json, Json);
}
