using System.Collections;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// A PyTorch state_dict file in the weights folder (<c>&lt;arch&gt;[-anything].pt|.pth|.safetensors</c>) for one
/// of the TorchVision architectures: finds its architecture from the name, reads it with TorchSharp.PyBridge,
/// checks it key by key and shape by shape, and loads it.
/// </summary>
internal static partial class WeightFile
{
    /// <summary>At most this many keys are named per kind of problem in an error message.</summary>
    public const int MaxListed = 12;

    [GeneratedRegex(@"^(?<arch>mobilenet_v2|resnet50|resnet18|resnet34)(-.*)?\.(pt|pth|safetensors|onnx)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();

    public static bool HasWeightExtension(string fileName) =>
        Path.GetExtension(fileName).ToLowerInvariant() is ".pt" or ".pth" or ".safetensors" or ".onnx";

    /// <summary>The architecture a file name announces, or null.</summary>
    public static BackboneArchitecture? ArchitectureOf(string fileName)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success) return null;
        var arch = match.Groups["arch"].Value.ToLowerInvariant();
        return BackboneArchitecture.WeightFileArchitectures.Single(a => a.Id == arch);
    }

    /// <summary>Reads and checks the file; throws <see cref="WeightFileException"/> listing every problem.</summary>
    public static void Validate(string path, BackboneArchitecture architecture)
    {
        var stateDict = Read(path, architecture);
        try
        {
            Check(path, architecture, stateDict);
        }
        finally
        {
            foreach (var tensor in stateDict.Values) tensor.Dispose();
        }
    }

    /// <summary>Builds the architecture and loads the file into it (the classifier's keys are ignored).</summary>
    public static Backbone Load(string path, BackboneArchitecture architecture, BackboneDescriptor descriptor)
    {
        var stateDict = Read(path, architecture);
        try
        {
            Check(path, architecture, stateDict);
            var backbone = architecture.Build(descriptor);
            try
            {
                using var _ = torch.no_grad();
                foreach (var (key, target) in backbone.state_dict())
                {
                    if (!stateDict.TryGetValue(key, out var source)) continue; // only an absent num_batches_tracked
                    if (source.numel() != target.numel() || source.shape.Length != target.shape.Length)
                    {
                        using var reshaped = source.reshape(target.shape);
                        target.copy_(reshaped);
                    }
                    else
                    {
                        target.copy_(source);
                    }
                }
                return backbone;
            }
            catch
            {
                backbone.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var tensor in stateDict.Values) tensor.Dispose();
        }
    }

    /// <summary><see cref="Load"/>, with <see cref="Backbone.WeightsSha256"/> set to the hash of exactly the content
    /// loaded: when the file changes while it is read, it is read again.</summary>
    public static Backbone LoadHashed(string path, BackboneArchitecture architecture, BackboneDescriptor descriptor)
    {
        for (var attempt = 1; ; attempt++)
        {
            var before = WeightsHash.Version(path);
            var sha256 = WeightsHash.Of(path);
            var backbone = Load(path, architecture, descriptor);
            if (WeightsHash.Version(path) == before && WeightsHash.Of(path) == sha256)
            {
                backbone.WeightsSha256 = sha256;
                return backbone;
            }
            backbone.Dispose();
            if (attempt == 3)
                throw new WeightFileException($"Weights file '{Path.GetFileName(path)}' kept changing while it was read; try again once it is written.");
        }
    }

    /// <summary>Reads a state_dict saved with torch.save (.pt/.pth, zip format) or as safetensors (torchvision's or
    /// timm's key names, see <see cref="TimmKeys"/>), or maps an ONNX file's weights onto the architecture
    /// (<see cref="Onnx.OnnxStateDict"/>).</summary>
    public static Dictionary<string, Tensor> Read(string path, BackboneArchitecture architecture)
    {
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
            return Onnx.OnnxStateDict.Read(path, architecture);
        return TimmKeys.Rename(ReadStateDict(path), architecture);
    }

    private static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        var fileName = Path.GetFileName(path);
        try
        {
            if (Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase))
                return Safetensors.LoadStateDict(path);

            Hashtable table = PyTorchUnpickler.UnpickleStateDict(path);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in table)
            {
                if (entry.Key is string key && entry.Value is Tensor tensor) result[key] = tensor;
            }
            return result;
        }
        catch (Exception e) when (e is not WeightFileException)
        {
            throw new WeightFileException(
                $"Weights file '{fileName}' could not be read as a PyTorch state_dict " +
                $"(save it with torch.save(model.state_dict(), f) or as safetensors): {e.Message}");
        }
    }

    private static void Check(string path, BackboneArchitecture architecture, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var expected = architecture.Shape;
        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();

        foreach (var (key, shape) in expected.Shapes)
        {
            if (!stateDict.TryGetValue(key, out var found))
            {
                // Files written before PyTorch 0.4.1 have no BatchNorm step counter; it is not needed to load.
                if (!key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) missing.Add(key);
                continue;
            }
            if (!SameShape(shape, found.shape))
                mismatched.Add($"{key}: expected {Format(shape)}, found {Format(found.shape)}");
            else if (found.is_floating_point() != IsFloating(expected.DTypes[key]))
                mismatched.Add($"{key}: expected {expected.DTypes[key]} values, found {found.dtype}");
        }
        foreach (var key in stateDict.Keys)
        {
            if (!expected.Shapes.ContainsKey(key) && !key.StartsWith(architecture.HeadPrefix, StringComparison.Ordinal))
                unexpected.Add(key);
        }
        if (missing.Count == 0 && unexpected.Count == 0 && mismatched.Count == 0) return;

        var message = new StringBuilder($"Weights file '{Path.GetFileName(path)}' does not fit torchvision {architecture.Id}");
        message.Append($" ({stateDict.Count} tensors in the file, {expected.Shapes.Count} expected besides the {architecture.HeadPrefix}* classifier).");
        Append(message, missing, "missing key");
        Append(message, unexpected, "unexpected key");
        Append(message, mismatched, "shape mismatch", "shape mismatches");
        if (unexpected.Count > 0 && stateDict.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
            message.Append(" Every key starts with 'module.': the file was saved from a DataParallel wrapper; save model.module.state_dict() instead.");
        throw new WeightFileException(message.ToString());
    }

    private static void Append(StringBuilder message, List<string> items, string singular, string? plural = null)
    {
        if (items.Count == 0) return;
        message.Append($" {items.Count} {(items.Count == 1 ? singular : plural ?? singular + "s")}: ");
        message.Append(string.Join("; ", items.Take(MaxListed)));
        if (items.Count > MaxListed) message.Append($"; … and {items.Count - MaxListed} more");
        message.Append('.');
    }

    /// <summary>Equal shapes; a scalar and a one-element vector count as equal (PyBridge reads scalars as [1]).</summary>
    private static bool SameShape(long[] expected, long[] found) =>
        expected.SequenceEqual(found) ||
        (expected.Length <= 1 && found.Length <= 1 && expected.Aggregate(1L, (a, b) => a * b) == 1 && found.Aggregate(1L, (a, b) => a * b) == 1);

    private static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    internal static string Format(long[] shape) => $"[{string.Join(", ", shape)}]";
}
