using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Evaluation;

/// <summary>A file the user gave "Test an image" (chosen, dropped or pasted): its name, size in bytes and the browser's
/// content type (may be empty).</summary>
public sealed record TestImageFile(string Name, long Size, string ContentType);

/// <summary>Where one image of a batch stands.</summary>
public enum TestImageState { Waiting, Classifying, Explaining, Done, Refused }

/// <summary>One image of a "Test an image" batch and what became of it: its answer and heatmaps, or why it was refused
/// (<see cref="Problem"/>, which names the file). Owned by the panel and changed only on its render thread.</summary>
public sealed class TestedImage(int index, TestImageFile file)
{
    /// <summary>Its position among the files the browser gave (to open the right one).</summary>
    public int Index { get; } = index;
    public TestImageFile File { get; } = file;
    public TestImageState State { get; set; } = TestImageState.Waiting;
    /// <summary>Why it has no answer ("bad.txt: The image could not be used: …"); null while it has or may get one.</summary>
    public string? Problem { get; set; }
    public byte[]? Bytes { get; set; }
    /// <summary>A data: URL of the upload for the card (null for large files, which the heatmap shows instead).</summary>
    public string? Preview { get; set; }
    public PredictionResult? Result { get; set; }
    public ImageExplanation? Explanation { get; set; }
    public string? ExplainProblem { get; set; }
    /// <summary>The class the user says the image is, whose heatmap goes beside the predicted class's.</summary>
    public string? TrueClass { get; set; }

    /// <summary>Marks it refused with a sentence that starts with the file's name.</summary>
    public void Refuse(string why)
    {
        State = TestImageState.Refused;
        Problem = $"{File.Name}: {why}";
    }
}

/// <summary>The limits of one "Test an image" batch and the admission of files into it.</summary>
public static class TestImageBatch
{
    /// <summary>The most images tested at once: each costs a worker call for its classes and one for its heatmap.</summary>
    public const int MaxImages = 10;

    /// <summary>The largest file, in bytes (what Predict accepts: <see cref="EvaluationService.MaxPredictBytes"/>).</summary>
    public const long MaxBytes = EvaluationService.MaxPredictBytes;

    /// <summary>Previews are embedded as data: URLs up to this size; larger uploads show only their heatmap.</summary>
    public const long MaxPreviewBytes = 4 * 1024 * 1024;

    /// <summary>"Up to 10 images at a time, 20 MB each (JPEG, PNG, WebP, GIF and BMP)": what the panel says before any file.</summary>
    public static string LimitText => $"Up to {MaxImages} images at a time, {MaxBytes / 1024 / 1024} MB each ({Imaging.ImageDecoder.SupportedFormats}).";

    /// <summary>The first <see cref="MaxImages"/> files as cards, those that cannot be tested already refused (empty, or
    /// larger than <see cref="MaxBytes"/>), and a note naming the files left out beyond the limit (null when none).
    /// Whether a file is an image is the worker's to say (its decoder gives the reason).</summary>
    public static (IReadOnlyList<TestedImage> Images, string? Note) Admit(IReadOnlyList<TestImageFile> files)
    {
        var images = files.Take(MaxImages).Select((f, i) => new TestedImage(i, f)).ToList();
        foreach (var image in images)
        {
            if (image.File.Size == 0) image.Refuse("the file is empty.");
            else if (image.File.Size > MaxBytes)
                image.Refuse($"the file is {image.File.Size / 1024.0 / 1024.0:0.#} MB; at most {MaxBytes / 1024 / 1024} MB per image.");
        }
        var left = files.Skip(MaxImages).Select(f => f.Name).ToList();
        var note = left.Count == 0 ? null
            : $"Only the first {MaxImages} of {files.Count} images were tested (at most {MaxImages} at a time); left out: " +
              (left.Count <= 5 ? string.Join(", ", left) : $"{string.Join(", ", left.Take(5))} and {left.Count - 5} more") + ".";
        return (images, note);
    }

    /// <summary>The classes whose heatmaps a card shows: the true class (when chosen and different) left of the predicted one.</summary>
    public static IReadOnlyList<string> ExplainedClasses(string predicted, string? trueClass) =>
        trueClass is null || trueClass == predicted ? [predicted] : [trueClass, predicted];
}
