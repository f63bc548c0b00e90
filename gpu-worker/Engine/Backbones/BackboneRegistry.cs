using System.Diagnostics;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>The backbones this worker offers: the shipped pretrained ResNet, TorchVision architectures with
/// weight files from the weights folder, and random-init baselines.</summary>
/// <remarks>
/// Built once at start-up (it parses the 64 MB ONNX file once and keeps the mapped weights, and checks every
/// weight file). Thread-safe: <see cref="Create(string)"/> may be called from several job threads.
/// Random initialisation (the random baselines, and the layers of every model before its weights are loaded)
/// draws from the current torch generator: call <see cref="Create(string)"/> inside <see cref="TorchRandom.Seeded{T}"/>
/// when a run must be reproducible (it holds <see cref="TorchRandom"/>'s lock while building).
/// </remarks>
public sealed class BackboneRegistry
{
    public const string PretrainedName = "resnet18x3-imagenet";
    public const string PretrainedFileName = "ResNet18.onnx";
    public const string PretrainedSource = "ImageNet, ONNX from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1";
    private const string RandomSource = "random initialisation (current torch generator)";

    /// <summary>The shipped weights' licence: the NuGet package's (MIT, per its nuspec and ML.NET's LICENSE).</summary>
    public const string PretrainedLicence = "MIT (the licence of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 that ships them)";

    /// <summary>What the worker can say of a weights file someone dropped into its folder.</summary>
    public const string WeightsFileLicence = "not known to TransferHub: the licence the file's publisher states applies";

    private const string RandomLicence = "none needed (random initialisation, no pretrained weights)";

    /// <summary>The shipped model's preprocessing (ResNetPreprocess.onnx): BGR, 0–255, minus the channel means.</summary>
    public static readonly Normalization PretrainedNormalization = new(1f, [103.063f, 115.903f, 123.152f], [1f, 1f, 1f], Bgr: true);

    private static readonly int[] PretrainedBlocks = [2, 2, 2, 3];

    private readonly Dictionary<string, Entry> _entries;

    private BackboneRegistry(IEnumerable<Entry> entries)
    {
        // Usable backbones first, each group in the order found.
        var ordered = entries.OrderBy(e => e.Descriptor.Error is null ? 0 : 1).ToList();
        _entries = ordered.ToDictionary(e => e.Descriptor.Name, StringComparer.Ordinal);
        Descriptors = [.. ordered.Select(e => e.Descriptor)];
    }

    private sealed record Entry(BackboneDescriptor Descriptor, Func<BackboneDescriptor, Backbone>? Build);

    /// <summary>Finds every backbone. Never throws for a missing or bad file: such a backbone is listed with
    /// <see cref="BackboneDescriptor.Error"/> set. Creates <paramref name="weightsFolder"/> when it is missing.</summary>
    public static BackboneRegistry Create(string weightsFolder, string pretrainedFolder, ILogger logger)
    {
        var entries = new List<Entry> { Pretrained(pretrainedFolder, logger) };
        var reserved = new HashSet<string>(StringComparer.Ordinal) { PretrainedName };
        var randoms = RandomBaselines();
        foreach (var random in randoms) reserved.Add(random.Descriptor.Name);
        entries.AddRange(WeightFiles(weightsFolder, reserved, logger));
        entries.AddRange(randoms);

        var registry = new BackboneRegistry(entries);
        logger.LogInformation("Backbones offered: {Usable}", string.Join(", ", registry.Descriptors.Where(d => d.Error is null).Select(d => d.Name)));
        return registry;
    }

    /// <summary>Every backbone, usable or not (<see cref="BackboneDescriptor.Error"/> says why not).</summary>
    public IReadOnlyList<BackboneDescriptor> Descriptors { get; }

    /// <summary>Builds the named backbone on the CPU with its weights loaded: a new, independent module each call
    /// (the caller owns and disposes it). Layers are first initialised from the current torch generator.
    /// A weights-folder file is read again on every call (a replaced file takes effect for the next job);
    /// <see cref="Backbone.WeightsSha256"/> says which content was loaded.</summary>
    /// <exception cref="UnknownBackboneException">no such backbone</exception>
    /// <exception cref="WeightFileException">its weights file does not fit the architecture</exception>
    public Backbone Create(string name)
    {
        if (!_entries.TryGetValue(name, out var entry))
            throw new UnknownBackboneException(name, Descriptors.Where(d => d.Error is null).Select(d => d.Name));
        if (entry.Descriptor.Error is { } error) throw new WeightFileException(error);
        // Building draws from torch's global generator: never inside another job's seeded section.
        return TorchRandom.Exclusive(() => entry.Build!(entry.Descriptor));
    }

    private static Entry Pretrained(string pretrainedFolder, ILogger logger)
    {
        var architecture = BackboneArchitecture.ResNet18x3;
        var path = Path.Combine(pretrainedFolder, PretrainedFileName);
        BackboneDescriptor Describe(string? error = null) => architecture.Describe(PretrainedName,
            "ResNet-18 variant with a 3-block 4th stage · ImageNet", PretrainedSource, pretrained: true, PretrainedNormalization, error,
            PretrainedLicence);

        if (!File.Exists(path))
        {
            var error = $"Pretrained weights '{path}' not found: the worker build copies them from the NuGet package " +
                        "Microsoft.ML.DnnImageFeaturizer.ResNet18 into <output>/pretrained.";
            logger.LogWarning("{Backbone} unavailable: {Error}", PretrainedName, error);
            return new Entry(Describe(error), null);
        }
        try
        {
            var stopwatch = Stopwatch.StartNew();
            // The weights are parsed once and kept: the hash is of the file as parsed now, whatever happens to it later.
            var sha256 = WeightsHash.Of(path);
            var weights = OnnxResNetWeights.Load(path, PretrainedBlocks);
            CheckAgainst(architecture, weights, path);
            logger.LogInformation("{Backbone}: parsed and mapped {File} ({Tensors} tensors) in {Milliseconds} ms",
                PretrainedName, path, weights.Tensors.Count, stopwatch.ElapsedMilliseconds);
            return new Entry(Describe(), descriptor =>
            {
                var backbone = new ResNetBackbone(descriptor, PretrainedBlocks, initialize: false);
                try
                {
                    weights.CopyInto(backbone);
                    backbone.WeightsSha256 = sha256;
                    return backbone;
                }
                catch
                {
                    backbone.Dispose();
                    throw;
                }
            });
        }
        catch (Exception e) when (e is WeightFileException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("{Backbone} unavailable: {Error}", PretrainedName, e.Message);
            return new Entry(Describe(e.Message), null);
        }
    }

    /// <summary>The mapped ONNX weights must cover the architecture's state_dict exactly (num_batches_tracked aside).</summary>
    private static void CheckAgainst(BackboneArchitecture architecture, OnnxResNetWeights weights, string path)
    {
        var expected = architecture.Shape.Shapes.Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var problems = expected
            .Where(kv => !weights.Tensors.TryGetValue(kv.Key, out var t) || !t.Shape.SequenceEqual(kv.Value))
            .Select(kv => kv.Key)
            .Concat(weights.Tensors.Keys.Where(k => !architecture.Shape.Shapes.ContainsKey(k)))
            .ToList();
        if (problems.Count > 0)
            throw new WeightFileException($"Pretrained weights '{Path.GetFileName(path)}' do not map onto {architecture.Id}: {string.Join(", ", problems)}.");
    }

    private static List<Entry> RandomBaselines()
    {
        Entry Random(BackboneArchitecture architecture) => new(
            architecture.Describe($"{architecture.Id}-random", $"{architecture.DisplayName} · random init", RandomSource,
                pretrained: false, Normalization.ImageNet, weightsLicence: RandomLicence),
            architecture.Build);
        return [Random(BackboneArchitecture.ResNet18x3), Random(BackboneArchitecture.MobileNetV2), Random(BackboneArchitecture.ResNet50)];
    }

    private static List<Entry> WeightFiles(string weightsFolder, HashSet<string> reserved, ILogger logger)
    {
        var entries = new List<Entry>();
        string[] files;
        try
        {
            if (!Directory.Exists(weightsFolder))
            {
                Directory.CreateDirectory(weightsFolder);
                logger.LogInformation("Created the weights folder {Folder}", Path.GetFullPath(weightsFolder));
            }
            files = Directory.GetFiles(weightsFolder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Weights folder {Folder} cannot be read: {Error}", weightsFolder, e.Message);
            return entries;
        }
        Array.Sort(files, StringComparer.Ordinal);

        foreach (var path in files)
        {
            var fileName = Path.GetFileName(path);
            if (!WeightFile.HasWeightExtension(fileName)) continue;
            var architecture = WeightFile.ArchitectureOf(fileName);
            if (architecture is null)
            {
                logger.LogWarning("Ignored weights file {File}: its name must start with one of {Architectures} (then optionally '-anything')",
                    fileName, string.Join(", ", BackboneArchitecture.WeightFileArchitectures.Select(a => a.Id)));
                continue;
            }
            var name = Path.GetFileNameWithoutExtension(fileName);
            if (!reserved.Add(name))
            {
                logger.LogWarning("Ignored weights file {File}: the backbone name '{Name}' is already taken", fileName, name);
                continue;
            }

            string? error = null;
            try
            {
                WeightFile.Validate(path, architecture);
                logger.LogInformation("Weights file {File}: offered as {Name} ({Architecture})", fileName, name, architecture.Id);
            }
            catch (WeightFileException e)
            {
                error = e.Message;
                logger.LogError("Weights file {File} rejected: {Error}", fileName, error);
            }
            var descriptor = architecture.Describe(name, $"{architecture.DisplayName} · {fileName}", $"weights file {fileName}",
                pretrained: true, Normalization.ImageNet, error, WeightsFileLicence);
            entries.Add(new Entry(descriptor, error is null ? d => WeightFile.LoadHashed(path, architecture, d) : null));
        }
        return entries;
    }
}
