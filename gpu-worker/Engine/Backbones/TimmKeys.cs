using System.Globalization;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Backbones;

/// <summary>
/// timm (github.com/huggingface/pytorch-image-models) state_dict key names → torchvision's, for the architectures the
/// weights folder takes.
/// </summary>
/// <remarks>
/// <para>ResNets: timm's <c>resnet18/34/50</c> use torchvision's names already (conv1, bn1, layer1.0.conv1,
/// layer2.0.downsample.0, fc), so their files load unchanged.</para>
/// <para>MobileNetV2 (timm <c>mobilenetv2_100</c>, recognised by its <c>conv_stem.weight</c> key): conv_stem/bn1 →
/// features.0.0/features.0.1; the 17 blocks <c>blocks.s.i</c> in (stage, index) order → features.1 … features.17
/// (the first, a depthwise-separable block: conv_dw, bn1, conv_pw, bn2 → conv.0.0, conv.0.1, conv.1, conv.2; the
/// inverted residuals: conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3 → conv.0.0, conv.0.1, conv.1.0, conv.1.1, conv.2,
/// conv.3); conv_head/bn2 → features.18.0/features.18.1; classifier stays classifier. A key that fits none of these is
/// kept as it is, so the usual check names it as unexpected.</para>
/// </remarks>
internal static partial class TimmKeys
{
    [GeneratedRegex(@"^blocks\.(\d+)\.(\d+)\.(conv_dw|conv_pw|conv_pwl|bn1|bn2|bn3)\.(.+)$")]
    private static partial Regex BlockKey();

    private static readonly Dictionary<string, string> FirstBlock = new(StringComparer.Ordinal)
    {
        ["conv_dw"] = "conv.0.0", ["bn1"] = "conv.0.1", ["conv_pw"] = "conv.1", ["bn2"] = "conv.2",
    };

    private static readonly Dictionary<string, string> InvertedResidual = new(StringComparer.Ordinal)
    {
        ["conv_pw"] = "conv.0.0", ["bn1"] = "conv.0.1", ["conv_dw"] = "conv.1.0", ["bn2"] = "conv.1.1", ["conv_pwl"] = "conv.2", ["bn3"] = "conv.3",
    };

    /// <summary>Returns <paramref name="stateDict"/> itself when it has no timm names, else a renamed copy (same tensors).</summary>
    public static Dictionary<string, Tensor> Rename(Dictionary<string, Tensor> stateDict, BackboneArchitecture architecture)
    {
        if (architecture != BackboneArchitecture.MobileNetV2 || !stateDict.ContainsKey("conv_stem.weight")) return stateDict;

        var blocks = stateDict.Keys.Select(k => BlockKey().Match(k)).Where(m => m.Success)
            .Select(m => (Stage: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Index: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .Distinct().Order().ToList();
        var feature = blocks.Select((b, i) => (b, i + 1)).ToDictionary(p => p.b, p => p.Item2);
        var last = blocks.Count + 1;

        var renamed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in stateDict)
            renamed[Map(key, feature, last)] = tensor;
        return renamed;
    }

    private static string Map(string key, Dictionary<(int, int), int> feature, int last)
    {
        static string Rest(string key, string prefix) => key[prefix.Length..];
        if (key.StartsWith("conv_stem.", StringComparison.Ordinal)) return "features.0.0." + Rest(key, "conv_stem.");
        if (key.StartsWith("bn1.", StringComparison.Ordinal)) return "features.0.1." + Rest(key, "bn1.");
        if (key.StartsWith("conv_head.", StringComparison.Ordinal)) return $"features.{last}.0." + Rest(key, "conv_head.");
        if (key.StartsWith("bn2.", StringComparison.Ordinal)) return $"features.{last}.1." + Rest(key, "bn2.");
        var match = BlockKey().Match(key);
        if (!match.Success) return key;
        var index = feature[(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))];
        var table = index == 1 ? FirstBlock : InvertedResidual;
        return table.TryGetValue(match.Groups[3].Value, out var part) ? $"features.{index}.{part}.{match.Groups[4].Value}" : key;
    }
}
