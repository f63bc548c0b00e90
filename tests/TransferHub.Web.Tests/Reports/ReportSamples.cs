using SkiaSharp;
using TransferHub.Imaging;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Reports;

/// <summary>Run reports as the jobs feature will hand them over: metrics computed from the confusion matrix the way
/// the worker computes them, predictions consistent with it, thumbnails encoded with SkiaSharp.</summary>
public static class ReportSamples
{
    public static readonly string DatasetVersion = ContentHash.Of("pets-and-things v3"u8);

    /// <summary>3 classes (one named with a comma), 62 test images, 5 epochs with validation, 4 thumbnails.
    /// Accuracy 53/62 = 85.5%.</summary>
    public static RunReport Standard()
    {
        string[] classes = ["cat", "coffee, espresso", "astronaut"];
        int[][] confusion = [[23, 1, 1], [3, 16, 1], [2, 1, 14]];
        return Build(classes, confusion) with
        {
            Misclassified =
            [
                new(Jpeg(TestFiles.Photo("chelsea.jpg")), "cat → astronaut (71.2%)"),
                new(Jpeg(TestFiles.Photo("coffee.png")), "coffee, espresso → cat (55.0%)"),
                new(Jpeg(TestFiles.Photo("astronaut.jpg")), "astronaut → cat (48.9%)"),
                new(Drawn(220, 120), "astronaut → coffee, espresso (93.4%), a wide image with a long caption that wraps"),
            ],
        };
    }

    /// <summary>Classes and file names that a spreadsheet would take for formulas (class-names-formulas.zip and more):
    /// <see cref="FormulaClasses"/>, and the first predictions' file names are <see cref="FormulaFileNames"/> (the
    /// others are "{class}_{n}.jpg", so they start with a formula character too).</summary>
    public static RunReport Formulas()
    {
        int[][] confusion = [[2, 1, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0], [0, 0, 2, 0, 0, 1], [0, 0, 0, 2, 0, 0], [1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 2]];
        var report = Build(FormulaClasses, confusion);
        return report with
        {
            Predictions = [.. report.Predictions.Select((p, i) => i < FormulaFileNames.Length ? p with { OriginalName = FormulaFileNames[i] } : p)],
        };
    }

    public static readonly string[] FormulaClasses = ["=1+2", "@SUM(1+1)", "+3-1", "-4+1", "\tHYPERLINK(\"x\")", "\r=2*3"];

    public static readonly string[] FormulaFileNames = ["=cmd|' /C calc'!A0.png", "@evil.jpg", "-1.png", "+1, \"two\".png", "\tcat.jpg", "\rdog.jpg", "a;=1+2.png"];

    /// <summary>The same run with <paramref name="count"/> classes named long enough to need truncating, trained for
    /// one epoch without a validation split; class 5 has no test images (its recall is 0/0, given as NaN).</summary>
    public static RunReport ManyClasses(int count)
    {
        var classes = Enumerable.Range(1, count)
            .Select(i => $"Class {i:00} — a deliberately long descriptive category name number {i}").ToArray();
        var confusion = Enumerable.Range(0, count).Select(t => Enumerable.Range(0, count)
            .Select(p => t == 4 ? 0 : t == p ? 10 + t % 7 * 3 : (t * 7 + p * 3) % 11 == 0 ? 1 + (t + p) % 3 : 0).ToArray()).ToArray();
        confusion[0][4] = 2; // class 5 is predicted (wrongly) although it has no images: precision 0
        var report = Build(classes, confusion);
        var perClass = report.PerClass.ToList();
        perClass[4] = perClass[4] with { Recall = double.NaN, F1 = double.NaN };
        return report with
        {
            Title = "Run #7 · mobilenet_v2-random · feature extraction",
            Epochs = [new ReportEpoch(1, 2.3026, 0.118, null, null)],
            BestEpoch = 1,
            EvaluatedSplit = "val",
            PerClass = perClass,
        };
    }

    /// <summary>Class names from reports against other tools: Chinese, Hebrew, Arabic, an emoji, a Hebrew name with
    /// digits, and two 100-character names that differ only at their end.</summary>
    public static readonly string[] MultilingualClasses =
    [
        "猫", "狗", "חתול", "قطة", "🐱", "חתול 2024 גדול",
        LongName("type A"), LongName("type B"),
    ];

    /// <summary>A name of exactly 100 characters that ends in <paramref name="ending"/>.</summary>
    public static string LongName(string ending)
    {
        const string start = "Pseudomonas aeruginosa clinical isolate, cultured on blood agar after 48h incubation at 37°C, ";
        return start[..(100 - ending.Length)] + ending;
    }

    /// <summary>Two 100-character names that differ only in their middle: no label that keeps a start and an end tells
    /// them apart.</summary>
    public static readonly string[] MiddleDifferentClasses =
    [
        "cat",
        "Pseudomonas aeruginosa clinical isolate, strain 1, cultured on blood agar after 48h incubation, type A",
        "Pseudomonas aeruginosa clinical isolate, strain 2, cultured on blood agar after 48h incubation, type A",
    ];

    /// <summary>The standard run with <see cref="MiddleDifferentClasses"/>.</summary>
    public static RunReport MiddleDifferent() => Build(MiddleDifferentClasses, [[23, 1, 1], [3, 16, 1], [2, 1, 14]]);

    /// <summary>The standard run with <see cref="MultilingualClasses"/>.</summary>
    public static RunReport Multilingual()
    {
        var count = MultilingualClasses.Length;
        var confusion = Enumerable.Range(0, count).Select(t => Enumerable.Range(0, count)
            .Select(p => t == p ? 8 + t : (t + p) % 5 == 0 ? 1 : 0).ToArray()).ToArray();
        return Build(MultilingualClasses, confusion);
    }

    private static RunReport Build(string[] classes, int[][] confusion)
    {
        var total = confusion.Sum(r => r.Sum());
        var perClass = classes.Select((name, c) => Row(name, confusion, c)).ToList();
        // Averaged like ClassificationMetrics: every class with images or predictions (scikit-learn's labels=None).
        var present = perClass.Where((r, c) => r.Support > 0 || confusion.Any(row => row[c] > 0)).ToList();
        var macro = new ReportClassRow("macro", present.Average(r => r.Precision), present.Average(r => r.Recall),
            present.Average(r => r.F1), total);
        var weighted = new ReportClassRow("weighted", perClass.Sum(r => r.Precision * r.Support) / total,
            perClass.Sum(r => r.Recall * r.Support) / total, perClass.Sum(r => r.F1 * r.Support) / total, total);
        var correct = Enumerable.Range(0, classes.Length).Sum(c => confusion[c][c]);

        return new RunReport(
            Title: "Run #12 · resnet18x3-imagenet · fine-tune",
            TeamName: "Vision Lab", ProjectName: "Office objects", DatasetName: "pets-and-things",
            DatasetVersion: DatasetVersion,
            CreatedAtUtc: new DateTime(2026, 11, 28, 14, 3, 12, DateTimeKind.Utc),
            FinishedAtUtc: new DateTime(2026, 11, 28, 14, 21, 40, DateTimeKind.Utc),
            TrainingSeconds: 1_093.4,
            EvaluatedSplit: "test",
            Accuracy: (double)correct / total, Loss: 0.41873, BestEpoch: 4, StoppedEarly: false,
            Hyperparameters:
            [
                new("backbone", "resnet18x3-imagenet"), new("mode", "fine-tune"), new("lr", "0.001"), new("epochs", "5"),
                new("batch_size", "32"), new("optimizer", "adamw"), new("weight_decay", "0.0001"), new("schedule", "cosine"),
                new("unfreeze_stages", "2"), new("backbone_lr_multiplier", "0.1"), new("early_stopping_patience", "3"),
                new("augmentation", "random resized crop (0.6–1.0), horizontal flip, rotation ±15°, brightness/contrast 0.2"),
                new("seed", "42"),
            ],
            Epochs:
            [
                new(1, 1.0412, 0.512, 0.8705, 0.645),
                new(2, 0.6931, 0.731, 0.6120, 0.774),
                new(3, 0.4877, 0.829, 0.5031, 0.823),
                new(4, 0.3702, 0.878, 0.4511, 0.855),
                new(5, 0.2895, 0.911, 0.4623, 0.847),
            ],
            ClassNames: classes,
            PerClass: perClass, MacroAverage: macro, WeightedAverage: weighted,
            Confusion: confusion,
            Predictions: Predictions(classes, confusion),
            Misclassified: []);
    }

    private static ReportClassRow Row(string name, int[][] confusion, int c)
    {
        var tp = confusion[c][c];
        var predicted = confusion.Sum(r => r[c]);
        var support = confusion[c].Sum();
        var precision = predicted == 0 ? 0 : (double)tp / predicted;
        var recall = support == 0 ? 0 : (double)tp / support;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new ReportClassRow(name, precision, recall, f1, support);
    }

    /// <summary>One prediction per counted image; a few file names carry commas, quotes and a line break.</summary>
    private static List<ReportPrediction> Predictions(string[] classes, int[][] confusion)
    {
        string[] awkward = ["IMG_0001, copy.jpg", "say \"cheese\".jpg", "two\nlines.png"];
        var predictions = new List<ReportPrediction>();
        for (var t = 0; t < classes.Length; t++)
            for (var p = 0; p < classes.Length; p++)
                for (var i = 0; i < confusion[t][p]; i++)
                {
                    var n = predictions.Count;
                    var name = n < awkward.Length ? awkward[n] : $"{classes[t].Split(',')[0]}_{n:0000}.jpg";
                    var confidence = t == p ? 0.6 + (n * 37 % 40) / 100.0 : 0.4 + (n * 13 % 50) / 100.0;
                    predictions.Add(new ReportPrediction(ContentHash.Of(BitConverter.GetBytes(n)), name, classes[t], classes[p],
                        confidence));
                }
        return predictions;
    }

    /// <summary>An image re-encoded as a JPEG thumbnail (longest side 192 px), as the web's thumbnails are.</summary>
    public static byte[] Jpeg(byte[] image)
    {
        using var bitmap = SKBitmap.Decode(image);
        var scale = 192f / Math.Max(bitmap.Width, bitmap.Height);
        using var resized = bitmap.Resize(new SKImageInfo((int)(bitmap.Width * scale), (int)(bitmap.Height * scale)),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var encoded = resized.Encode(SKEncodedImageFormat.Jpeg, 85);
        return encoded.ToArray();
    }

    /// <summary>A synthetic JPEG: a gradient with a circle, <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static byte[] Drawn(int width, int height)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        using (var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height),
                   [SKColors.SteelBlue, SKColors.Orange], SKShaderTileMode.Clamp))
        using (var paint = new SKPaint { Shader = shader })
            surface.Canvas.DrawRect(0, 0, width, height, paint);
        using (var paint = new SKPaint { Color = SKColors.White, IsAntialias = true })
            surface.Canvas.DrawCircle(width / 2f, height / 2f, Math.Min(width, height) / 3f, paint);
        using var image = surface.Snapshot();
        using var encoded = image.Encode(SKEncodedImageFormat.Jpeg, 85);
        return encoded.ToArray();
    }
}
