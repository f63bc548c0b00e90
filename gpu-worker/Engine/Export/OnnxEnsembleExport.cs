using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using TransferHub.Worker.Engine.Backbones.Onnx;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;

namespace TransferHub.Worker.Engine.Export;

/// <summary>Ensembles as one ONNX graph: every member's whole classifier (normalisation, flip, backbone, feature
/// preprocessing, head, softmax) from the one shared input, then the <c>Mean</c> of their probabilities — what the web
/// computes when it scores an ensemble (the mean of the members' probabilities, each member's calibrated with its own
/// temperature).</summary>
public sealed partial class OnnxExporter
{
    public const string DefaultEnsembleId = "ensemble";

    /// <summary>Loads the stored models <paramref name="memberIds"/> and writes their ensemble as one ONNX model.</summary>
    /// <param name="ensembleId">The name the file carries (metadata model_id); null or empty = <see cref="DefaultEnsembleId"/>.</param>
    /// <exception cref="FileNotFoundException">members not on this worker (all of them named)</exception>
    /// <exception cref="ArgumentException">a malformed request (fewer than 2 or more than <see cref="MaxEnsembleMembers"/>
    /// members, a repeated or malformed id, a bad ensemble id, a reserved metadata key), or members that cannot share
    /// one input (every difference listed)</exception>
    /// <exception cref="OnnxExportException">a member with a module or setting the exporter cannot translate, or a file over 2 GiB</exception>
    /// <exception cref="WeightFileException">a member's frozen backbone weights are no longer on this worker</exception>
    public void ExportEnsemble(string? ensembleId, IReadOnlyList<string> memberIds, IReadOnlyDictionary<string, string>? metadata, Stream destination)
    {
        ensembleId = string.IsNullOrEmpty(ensembleId) ? DefaultEnsembleId : ensembleId;
        CheckEnsembleRequest(ensembleId, memberIds);
        CheckMetadata(metadata);
        var missing = memberIds.Where(id => !models.Exists(id)).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException($"Ensemble members not on this worker: {string.Join(", ", missing.Select(id => $"'{id}'"))}.");
        var members = new List<(ClassifierModel Model, ModelMetadata Metadata)>();
        try
        {
            foreach (var id in memberIds)
            {
                using var stream = models.OpenRead(id);
                members.Add(ModelArtifact.Load(stream, backbones));
            }
            BuildEnsemble(ensembleId, members, metadata).WriteTo(destination);
        }
        finally
        {
            foreach (var (model, _) in members) model.Dispose();
        }
    }

    /// <summary>The request's own rules, checked before anything is loaded.</summary>
    /// <exception cref="ArgumentException">every problem, listed</exception>
    public static void CheckEnsembleRequest(string ensembleId, IReadOnlyList<string> memberIds)
    {
        var problems = new List<string>();
        if (memberIds.Count is < 2 or > MaxEnsembleMembers)
            problems.Add($"member_model_ids: an ensemble has 2 to {MaxEnsembleMembers} members, not {memberIds.Count}");
        var malformed = memberIds.Where(id => !ModelStore.IsValidId(id)).ToList();
        if (malformed.Count > 0)
            problems.Add($"member_model_ids: {string.Join(", ", malformed.Select(id => $"'{id}'"))} {(malformed.Count == 1 ? "is" : "are")} not a model id (1-64 letters, digits, '-' or '_')");
        var repeated = memberIds.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"'{g.Key}'").ToList();
        if (repeated.Count > 0)
            problems.Add($"member_model_ids: each member once ({string.Join(", ", repeated)} repeated)");
        if (!ModelStore.IsValidId(ensembleId))
            problems.Add("ensemble_id: 1-64 letters, digits, '-' or '_'");
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems) + ".");
    }

    /// <summary>Builds the ensemble of <paramref name="members"/> (loaded models, eval mode): one input, each member's
    /// classifier under "member{i}.", probabilities = their mean, logits = log of it.</summary>
    /// <exception cref="ArgumentException">members that cannot share one input, a reserved metadata key</exception>
    /// <exception cref="OnnxExportException">a module or setting with no exact ONNX translation, or over 2 GiB</exception>
    public static ModelProto BuildEnsemble(string ensembleId, IReadOnlyList<(ClassifierModel Model, ModelMetadata Metadata)> members,
        IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        CheckMetadata(extraMetadata);
        CheckMembersShareAnInput(members);
        var first = members[0].Metadata;
        var classes = first.ClassNames.Count;
        var graph = new OnnxGraphBuilder(shareIdenticalInitializers: true);
        graph.Graph.Name = $"transferhub-{ensembleId}";
        graph.Graph.DocString = $"Ensemble of {members.Count}: " +
            string.Join("; ", members.Select(m => $"{m.Metadata.BackboneDisplayName} + {HeadDescription(m.Model, m.Metadata)}")) + $", {classes} classes";

        var memberProbabilities = members.Select((m, i) =>
            EmitClassifier(graph, m.Model, m.Metadata, $"member{i}.", $"member{i}.{ProbabilitiesName}", $"member{i}.{LogitsName}").Probabilities).ToList();
        var probabilities = graph.Node("Mean", ProbabilitiesName, memberProbabilities);
        var clamped = graph.Node("Max", "ensemble.clamped", [probabilities, Scalar(graph, "ensemble.min_probability", 1e-30f)]);
        var logits = graph.Node("Log", LogitsName, [clamped]);
        AddInputAndOutputs(graph, first.ImageSize, classes, probabilities, logits,
            "float32 [N,classes]: log of the probabilities (softmax of it = probabilities)");
        return Model(graph, $"TransferHub ensemble {ensembleId} of {members.Count} models: {string.Join(", ", first.ClassNames)}",
            EnsembleMetadataProps(ensembleId, members), extraMetadata);
    }

    /// <exception cref="ArgumentException">every member that differs from the first in classes, image size or resize mode</exception>
    private static void CheckMembersShareAnInput(IReadOnlyList<(ClassifierModel Model, ModelMetadata Metadata)> members)
    {
        if (members.Count < 2) throw new ArgumentException($"An ensemble has at least 2 members, not {members.Count}.");
        var first = members[0].Metadata;
        var problems = new List<string>();
        foreach (var (_, m) in members.Skip(1))
        {
            if (!m.ClassNames.SequenceEqual(first.ClassNames, StringComparer.Ordinal))
                problems.Add($"'{m.ModelId}' has classes [{string.Join(", ", m.ClassNames)}] where '{first.ModelId}' has [{string.Join(", ", first.ClassNames)}]");
            if (m.ImageSize != first.ImageSize)
                problems.Add($"'{m.ModelId}' takes {m.ImageSize} px images where '{first.ModelId}' takes {first.ImageSize} px");
            if (m.Resize != first.Resize)
                problems.Add($"'{m.ModelId}' resizes by {ResizeName(m.Resize)} where '{first.ModelId}' uses {ResizeName(first.Resize)}");
        }
        if (problems.Count > 0)
            throw new ArgumentException("The ensemble's members cannot share one ONNX input (same classes in the same order, image size and " +
                $"resize mode needed): {string.Join("; ", problems)}. Export the members one by one instead.");
    }

    private static string ResizeName(Transforms.ResizeMode resize) => resize == Transforms.ResizeMode.Squash ? "squash" : "center_crop";

    /// <summary>Keys every member states alike (checked, or the exporter's own); the rest are joined or listed per member.</summary>
    private static readonly HashSet<string> SharedKeys =
        ["class_names", "input", "image_size", "resize_mode", "resize_filter", "alpha_background", "transferhub_version", "format"];

    /// <summary>What <c>ensemble_members</c> lists of each member (its own metadata_props under these keys).</summary>
    private static readonly string[] MemberKeys =
    [
        "model_id", "job_id", "backbone", "backbone_display_name", "weights_source", "backbone_weights_sha256", "backbone_frozen", "mode",
        "dataset_version", "created_at", "normalization", "feature_preprocessing", "test_time_augmentation", "temperature",
    ];

    /// <summary>The ensemble's metadata_props: the same keys as a single model's (values shared by every member as they
    /// are; others joined, or "per member"), plus <c>ensemble_members</c>: a JSON array of each member's own values.</summary>
    public static IReadOnlyList<(string Key, string Value)> EnsembleMetadataProps(string ensembleId,
        IReadOnlyList<(ClassifierModel Model, ModelMetadata Metadata)> members)
    {
        var each = members.Select(m => MetadataProps(m.Metadata, m.Model).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)).ToList();
        var classes = members[0].Metadata.ClassNames.Count;
        string Joined(string key, string separator) => string.Join(separator, each.Select(p => p[key]).Where(v => v.Length > 0).Distinct());
        string SameOrPerMember(string key) => each.Select(p => p[key]).Distinct().Count() == 1 ? each[0][key] : "per member (see ensemble_members)";
        var props = new List<(string Key, string Value)>();
        foreach (var (key, value) in MetadataProps(members[0].Metadata, members[0].Model))
        {
            props.Add((key, key switch
            {
                _ when SharedKeys.Contains(key) => value,
                "model_id" => ensembleId,
                "mode" => "Ensemble",
                "job_id" or "backbone_weights_sha256" or "dataset_version" => Joined(key, ","),
                "backbone" or "backbone_display_name" => Joined(key, " + "),
                "weights_source" => Joined(key, "; "),
                "created_at" => members.Max(m => m.Metadata.CreatedAt).ToString("O", CultureInfo.InvariantCulture),
                "outputs" => $"{ProbabilitiesName} float32 [N,{classes}] mean of the {members.Count} members' probabilities; " +
                             $"{LogitsName} float32 [N,{classes}] log of that mean",
                _ => SameOrPerMember(key),
            }));
        }
        props.Add(("ensemble_members", JsonSerializer.Serialize(each.Select(p => MemberKeys.ToDictionary(k => k, k => p[k])))));
        return props;
    }
}
