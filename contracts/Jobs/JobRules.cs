using System.Globalization;

namespace TransferHub.Contracts.Jobs;

/// <summary>How the backbone is used: frozen (features computed once and cached, a head trained on them), fine-tuned, or
/// Auto: frozen, with the classifier on its features chosen by cross-validation on train + val within a time budget
/// (ADR 014; it ignores the training recipe: learning rate, epochs, optimizer, schedule, head, early stopping).</summary>
public enum JobModeKind { FeatureExtraction, FineTune, Auto }

/// <summary>How the training loss weighs each class (<see cref="ClassWeights"/>): not at all, by inverse frequency
/// (scikit-learn's "balanced"), or by the effective number of samples (Cui et al. 2019). Mirrors <c>ClassWeighting</c> in
/// <c>worker.proto</c>.</summary>
public enum ClassWeightingKind { None, InverseFrequency, EffectiveNumber }

/// <summary>Random augmentation of training images, as ranges (all zero = none). Mirrors <c>AugmentationSettings</c>
/// in <c>worker.proto</c>.</summary>
/// <param name="CropScaleMin">Random resized crop: smallest fraction of the image area kept, (0, 1]; 0 with
/// <paramref name="CropScaleMax"/> 0 = no crop.</param>
/// <param name="CropScaleMax">Largest fraction of the area kept, [min, 1].</param>
/// <param name="RotationDegrees">Random rotation within ± this many degrees, [0, 180].</param>
/// <param name="Brightness">Colour jitter: brightness factor drawn from [1 − b, 1 + b], b in [0, 1).</param>
/// <param name="Contrast">Contrast factor range, as brightness, [0, 1).</param>
/// <param name="Saturation">Saturation factor range, as brightness, [0, 1).</param>
/// <param name="GrayscaleProbability">Probability of turning an image grey, [0, 1].</param>
public sealed record AugmentationValues(double CropScaleMin, double CropScaleMax, double RotationDegrees, double Brightness,
    double Contrast, double Saturation, double GrayscaleProbability);

/// <summary>
/// A job's settings with every default already filled in — what the web's launch form and <c>/api/v1</c> produce, and
/// what the worker makes of a wire <c>JobSpec</c> after applying <see cref="JobDefaults"/> to its zero fields.
/// </summary>
public sealed record JobValues
{
    public required string Backbone { get; init; }
    public JobModeKind Mode { get; init; }
    /// <summary>Fine-tuning: the backbone's last stages that train, 0 = all.</summary>
    public int UnfreezeStages { get; init; }
    /// <summary>The chosen backbone's number of stages, when the caller knows it (a worker that offers it does).</summary>
    public int? BackboneStages { get; init; }
    public int HiddenUnits { get; init; }
    public double Dropout { get; init; }
    public double LearningRate { get; init; }
    public double BackboneLrMultiplier { get; init; } = JobDefaults.BackboneLrMultiplier;
    public double WeightDecay { get; init; }
    public double Momentum { get; init; } = JobDefaults.Momentum;
    public bool StepSchedule { get; init; }
    public int StepSize { get; init; } = JobDefaults.StepSize;
    public double StepGamma { get; init; } = JobDefaults.StepGamma;
    public int Epochs { get; init; }
    public int BatchSize { get; init; } = JobDefaults.BatchSize;
    public int ImageSize { get; init; }
    public int EarlyStoppingPatience { get; init; }
    public long Seed { get; init; }
    /// <summary>Runs launched together with seeds Seed … Seed + Repeats − 1 (1 on a worker).</summary>
    public int Repeats { get; init; } = 1;
    /// <summary>Null = no augmentation.</summary>
    public AugmentationValues? Augmentation { get; init; }
    /// <summary>Auto mode: the whole job's wall-clock budget in seconds; ignored by the other modes.</summary>
    public int TimeBudgetSeconds { get; init; } = JobDefaults.AutoTimeBudgetSeconds;
    /// <summary>Manual modes: how the training loss weighs each class (<see cref="ClassWeights"/>).</summary>
    public ClassWeightingKind ClassWeighting { get; init; }
    /// <summary><see cref="ClassWeightingKind.EffectiveNumber"/>: β of Cui et al. (2019), above 0 and below 1.</summary>
    public double ClassWeightBeta { get; init; } = JobDefaults.ClassWeightBeta;
    /// <summary>Manual modes: each epoch draws its training images with probability ∝ 1 / (their class's training images).</summary>
    public bool BalancedSampling { get; init; }
    /// <summary>Fine-tuning: the first epochs train only the head (backbone frozen), then the stages unfreeze; 0 = off.</summary>
    public int HeadFirstEpochs { get; init; }
}

/// <summary>One thing wrong with a job: the field it concerns (the API's camelCase name, dotted for nested fields, as
/// RFC 7807 <c>errors</c> keys) and a sentence for a person that says what is allowed.</summary>
public sealed record JobProblem(string Field, string Message)
{
    public override string ToString() => Message;
}

/// <summary>The defaults a setting takes when a launch leaves it out (web) or a <c>JobSpec</c> leaves it 0 (worker).
/// Measured choices: a head on cached features likes a larger step and more epochs than fine-tuning (docs/benchmarks.md).</summary>
public static class JobDefaults
{
    public const double FeatureExtractionLearningRate = 3e-3;
    public const int FeatureExtractionEpochs = 30;
    public const int FeatureExtractionPatience = 5;
    public const double FineTuneLearningRate = 1e-3;
    public const int FineTuneEpochs = 10;
    public const int FineTunePatience = 3;
    public const double BackboneLrMultiplier = 0.1;
    public const double Momentum = 0.9;
    public const int StepSize = 10;
    public const double StepGamma = 0.1;
    public const int BatchSize = 32;
    /// <summary>The input size most ImageNet backbones were trained at, in pixels; a backbone's own size wins when known.</summary>
    public const int ImageSize = 224;
    /// <summary>Auto mode (autopilot): the whole job's wall-clock budget when a launch leaves it out (0 on the wire), on a
    /// worker at least as fast as <see cref="ReferenceFeaturePassesPerSecond"/>; see <see cref="AutoTimeBudgetFor"/>.</summary>
    public const int AutoTimeBudgetSeconds = 60;

    /// <summary>The frozen-backbone feature throughput <see cref="AutoTimeBudgetSeconds"/> was measured for, in forward
    /// passes per second as <c>WorkerInfo.feature_images_per_second</c> counts them: a 2-core CPU worker (Debian 12,
    /// ONNX Runtime, ResNet-18 at 224 px, decode included) measured 52.8 for auto mode's image + flip on the 286 Tux
    /// Paint photos and 48.0 for one view (docs/benchmarks.md); 50 between them.</summary>
    public const double ReferenceFeaturePassesPerSecond = 50;

    /// <summary>
    /// Auto mode's default time budget for a fleet whose slowest worker measured <paramref name="slowestPassesPerSecond"/>
    /// (<c>WorkerInfo.feature_images_per_second</c>): <see cref="AutoTimeBudgetSeconds"/> scaled by how much slower than
    /// <see cref="ReferenceFeaturePassesPerSecond"/> it is, so that the same work fits, rounded up to 10 s and at most
    /// <see cref="JobRules.MaxTimeBudgetSeconds"/>. A faster worker keeps 60 s: the budget is a ceiling, and the choice
    /// (cross-validation on the CPU) does not speed up with a GPU. Unknown (null, 0 or not finite): 60 s.
    /// </summary>
    public static int AutoTimeBudgetFor(double? slowestPassesPerSecond)
    {
        if (slowestPassesPerSecond is not { } rate || !double.IsFinite(rate) || rate <= 0 || rate >= ReferenceFeaturePassesPerSecond)
            return AutoTimeBudgetSeconds;
        var scaled = AutoTimeBudgetSeconds * ReferenceFeaturePassesPerSecond / rate;
        return (int)Math.Min(JobRules.MaxTimeBudgetSeconds, Math.Ceiling(scaled / 10) * 10);
    }

    public static double LearningRate(JobModeKind mode) => mode == JobModeKind.FineTune ? FineTuneLearningRate : FeatureExtractionLearningRate;

    public static int Epochs(JobModeKind mode) => mode == JobModeKind.FineTune ? FineTuneEpochs : FeatureExtractionEpochs;

    /// <summary>Effective-number class weights (Cui et al. 2019): the β of their paper's best results on long-tailed sets.</summary>
    public const double ClassWeightBeta = 0.999;

    /// <summary>Fine-tuning trains the head alone for this many epochs before the backbone's stages unfreeze (fastai's
    /// <c>fine_tune</c>): not worse than starting unfrozen on any split measured and cheaper (docs/benchmarks.md, ADR 018).</summary>
    public const int FineTuneHeadFirstEpochs = 1;

    /// <summary>The head-first epochs a fine-tune of <paramref name="epochs"/> epochs takes when a launch leaves them out:
    /// <see cref="FineTuneHeadFirstEpochs"/>, or fewer so that at least one epoch trains the backbone.</summary>
    public static int HeadFirstEpochs(int epochs) => Math.Clamp(epochs - 1, 0, FineTuneHeadFirstEpochs);
}

/// <summary>
/// The one validation of a job's settings, shared by the launch form, <c>/api/v1</c> and the worker's own check, so
/// that nothing a worker would refuse is ever queued. Every problem is reported at once. Ranges are closed unless the
/// message says "above" or "below"; NaN is outside every range. The same ranges are documented in <c>worker.proto</c>.
/// </summary>
public static class JobRules
{
    public const int MaxSeeds = 10;
    /// <summary>The largest seed: 2^53 − 1, the largest integer a JSON number keeps exactly in JavaScript clients.</summary>
    public const long MaxSeed = (1L << 53) - 1;
    public const int MaxBackboneNameLength = 100;
    public const double MaxLearningRate = 10;
    public const int MaxEpochs = 1000;
    public const int MaxBatchSize = 1024;
    public const int MinImageSize = 32;
    public const int MaxImageSize = 1024;
    public const int MaxHiddenUnits = 8192;
    public const double MaxRotationDegrees = 180;
    public const int MaxTimeBudgetSeconds = 3600;

    /// <summary>The settings Auto mode ignores (it fits its own classifiers to convergence on a linear head), so their
    /// values are not checked for it.</summary>
    public static readonly IReadOnlySet<string> IgnoredByAuto = new HashSet<string>(StringComparer.Ordinal)
    {
        "unfreezeStages", "hiddenUnits", "dropout", "learningRate", "backboneLrMultiplier", "weightDecay", "momentum", "epochs",
        "earlyStoppingPatience", "stepSize", "stepGamma", "classWeighting", "classWeightBeta", "headFirstEpochs",
    };

    /// <summary>Auto mode's time budget (seconds, defaults already applied): 1 to <see cref="MaxTimeBudgetSeconds"/>.</summary>
    public static IReadOnlyList<JobProblem> CheckTimeBudget(int seconds) => seconds is >= 1 and <= MaxTimeBudgetSeconds
        ? []
        : [new("timeBudgetSeconds", $"The autopilot's time budget must be 1 to {MaxTimeBudgetSeconds} seconds; got {seconds}.")];

    /// <summary>Every problem with <paramref name="v"/>; empty when a worker that offers the backbone accepts it.</summary>
    public static IReadOnlyList<JobProblem> Check(JobValues v)
    {
        ArgumentNullException.ThrowIfNull(v);
        var p = new List<JobProblem>();
        if (string.IsNullOrWhiteSpace(v.Backbone)) p.Add(new("backbone", "Choose a backbone."));
        else if (!IsBackboneName(v.Backbone))
            p.Add(new("backbone", $"'{Shorten(v.Backbone)}' is not a backbone name: names are 1 to {MaxBackboneNameLength} characters without '/', '\\', control characters or surrounding spaces, and do not start with '.'."));
        if (v.UnfreezeStages < 0) p.Add(new("unfreezeStages", "Stages to unfreeze cannot be negative (0 = all)."));
        else if (v.Mode == JobModeKind.FineTune && v.BackboneStages is { } stages && v.UnfreezeStages > stages)
            p.Add(new("unfreezeStages", $"{v.Backbone} has {stages} stages: unfreeze 0 (all) to {stages}."));
        if (v.Mode == JobModeKind.FeatureExtraction && v.Augmentation is not null)
            p.Add(new("augment", "Feature extraction caches the frozen backbone's features once, so augmentation cannot apply: turn it off or fine-tune."));
        else if (v.Mode == JobModeKind.Auto && v.Augmentation is not null)
            p.Add(new("augment", "Auto mode caches the frozen backbone's features of each image and of its mirror image once, so other augmentation cannot apply: turn it off or fine-tune."));
        if (!(v.LearningRate > 0 && v.LearningRate <= MaxLearningRate))
            p.Add(new("learningRate", $"Learning rate must be above 0 and at most {MaxLearningRate} (typical: 1e-4 to 1e-2); got {Number(v.LearningRate)}."));
        if (v.Mode == JobModeKind.FineTune && !(v.BackboneLrMultiplier > 0 && v.BackboneLrMultiplier <= 10))
            p.Add(new("backboneLrMultiplier", $"Backbone LR multiplier must be above 0 and at most 10; got {Number(v.BackboneLrMultiplier)}."));
        if (!(v.WeightDecay >= 0 && v.WeightDecay <= 1)) p.Add(new("weightDecay", $"Weight decay must be 0 to 1; got {Number(v.WeightDecay)}."));
        if (!(v.Momentum >= 0 && v.Momentum < 1)) p.Add(new("momentum", $"Momentum must be at least 0 and below 1; got {Number(v.Momentum)}."));
        if (v.Epochs is < 1 or > MaxEpochs) p.Add(new("epochs", $"Epochs must be 1 to {MaxEpochs}; got {v.Epochs}."));
        if (v.BatchSize is < 1 or > MaxBatchSize) p.Add(new("batchSize", $"Batch size must be 1 to {MaxBatchSize}; got {v.BatchSize}."));
        if (v.ImageSize is < MinImageSize or > MaxImageSize)
            p.Add(new("imageSize", $"Image size must be {MinImageSize} to {MaxImageSize} pixels; got {v.ImageSize}."));
        if (v.HiddenUnits is < 0 or > MaxHiddenUnits)
            p.Add(new("hiddenUnits", $"Head hidden units must be 0 (a linear head) to {MaxHiddenUnits}; got {v.HiddenUnits}."));
        if (!(v.Dropout >= 0 && v.Dropout < 1)) p.Add(new("dropout", $"Dropout must be at least 0 and below 1; got {Number(v.Dropout)}."));
        if (v.EarlyStoppingPatience < 0) p.Add(new("earlyStoppingPatience", "Early-stopping patience cannot be negative (0 turns it off)."));
        else if (v.EarlyStoppingPatience > 0 && v.EarlyStoppingPatience >= v.Epochs)
            p.Add(new("earlyStoppingPatience", "Early-stopping patience must be smaller than the number of epochs, or 0 (off)."));
        if (v.StepSchedule && v.StepSize is < 1 or > MaxEpochs) p.Add(new("stepSize", $"Step size must be 1 to {MaxEpochs} epochs; got {v.StepSize}."));
        if (v.StepSchedule && !(v.StepGamma > 0 && v.StepGamma <= 1)) p.Add(new("stepGamma", $"Step factor must be above 0 and at most 1; got {Number(v.StepGamma)}."));
        if (v.Repeats is < 1 or > MaxSeeds) p.Add(new("repeats", $"Repeat with 1 to {MaxSeeds} seeds; got {v.Repeats}."));
        if (v.Seed is < 0 or > MaxSeed) p.Add(new("seed", $"Seed must be 0 to {MaxSeed} (2^53 − 1); got {v.Seed}."));
        else if (v.Repeats is >= 1 and <= MaxSeeds && v.Seed > MaxSeed - (v.Repeats - 1))
            p.Add(new("seed", $"Seeds {v.Seed} to {v.Seed} + {v.Repeats - 1} would pass the largest seed {MaxSeed}: choose a smaller seed."));
        if (v.Augmentation is { } a) CheckAugmentation(a, p);
        if (!Enum.IsDefined(v.ClassWeighting))
            p.Add(new("classWeighting", "Class weighting must be none, inverseFrequency or effectiveNumber."));
        else if (v.ClassWeighting == ClassWeightingKind.EffectiveNumber && !(v.ClassWeightBeta > 0 && v.ClassWeightBeta < 1))
            p.Add(new("classWeightBeta", $"The effective-number β must be above 0 and below 1 (typical: 0.9 to 0.9999); got {Number(v.ClassWeightBeta)}."));
        if (v.Mode == JobModeKind.FineTune)
        {
            if (v.HeadFirstEpochs < 0) p.Add(new("headFirstEpochs", "Head-first epochs cannot be negative (0 turns them off)."));
            else if (v.HeadFirstEpochs > 0 && v.Epochs is >= 1 and <= MaxEpochs && v.HeadFirstEpochs >= v.Epochs)
                p.Add(new("headFirstEpochs", $"Head-first epochs must be fewer than the epochs ({v.Epochs}), so that the backbone trains in at least " +
                    $"one; got {v.HeadFirstEpochs}. To train only the head, use feature extraction."));
        }
        if (v.Mode == JobModeKind.Auto)
        {
            p.RemoveAll(problem => IgnoredByAuto.Contains(problem.Field));
            p.AddRange(CheckTimeBudget(v.TimeBudgetSeconds));
        }
        return p;
    }

    /// <summary>The augmentation ranges alone (the augmentation preview checks these before rendering).</summary>
    public static IReadOnlyList<JobProblem> CheckAugmentation(AugmentationValues augmentation)
    {
        ArgumentNullException.ThrowIfNull(augmentation);
        var problems = new List<JobProblem>();
        CheckAugmentation(augmentation, problems);
        return problems;
    }

    private static void CheckAugmentation(AugmentationValues a, List<JobProblem> p)
    {
        if (a.CropScaleMin != 0 || a.CropScaleMax != 0)
        {
            if (!(a.CropScaleMin > 0 && a.CropScaleMin <= 1))
                p.Add(new("augmentation.cropScaleMin", $"Random crop keeps above 0 and at most 100 % of the image; got {Number(a.CropScaleMin)}."));
            else if (!(a.CropScaleMax >= a.CropScaleMin && a.CropScaleMax <= 1))
                p.Add(new("augmentation.cropScaleMax", $"The crop's largest area must be between its smallest ({Number(a.CropScaleMin)}) and 1; got {Number(a.CropScaleMax)}."));
        }
        if (!(a.RotationDegrees >= 0 && a.RotationDegrees <= MaxRotationDegrees))
            p.Add(new("augmentation.rotationDegrees", $"Rotation must be 0 to {MaxRotationDegrees} degrees; got {Number(a.RotationDegrees)}."));
        Jitter(p, "brightness", "Brightness", a.Brightness);
        Jitter(p, "contrast", "Contrast", a.Contrast);
        Jitter(p, "saturation", "Saturation", a.Saturation);
        if (!(a.GrayscaleProbability >= 0 && a.GrayscaleProbability <= 1))
            p.Add(new("augmentation.grayscaleProbability", $"Grayscale probability must be 0 to 1; got {Number(a.GrayscaleProbability)}."));
    }

    private static void Jitter(List<JobProblem> p, string field, string name, double value)
    {
        if (!(value >= 0 && value < 1))
            p.Add(new($"augmentation.{field}", $"{name} jitter must be at least 0 and below 1; got {Number(value)}."));
    }

    /// <summary>Backbone names as workers publish them (a built-in name or a weight file's name without extension):
    /// 1–100 characters, no path separator or control character, no surrounding white space, not starting with '.'.</summary>
    public static bool IsBackboneName(string name) => name.Length is > 0 and <= MaxBackboneNameLength && name[0] != '.'
        && name.Trim().Length == name.Length && !name.Any(c => c is '/' or '\\' || char.IsControl(c));

    private static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..39] + "…";
}
