using System.Security.Cryptography;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Evaluation;

/// <summary>One model held in memory, ready to classify.</summary>
/// <param name="Sha256">SHA-256 (hex) of the model file it was loaded from: its identity in the cache.</param>
/// <param name="Bytes">Its parameters and buffers, in bytes: what it holds in memory.</param>
public sealed record LoadedModel(string Sha256, ClassifierModel Model, ModelMetadata Metadata, long Bytes);

/// <summary>
/// The models Predict and Explain keep loaded (issue 16 goal 5): a least-recently-used cache keyed by the model file's
/// content (SHA-256), bounded by the bytes of the loaded parameters and buffers. A model id is resolved to its content
/// by the file's length and last-write time, hashed again only when those change, so a model uploaded again under the
/// same id with other content is loaded afresh, and two ids with the same content share one loaded copy. The most
/// recently used model is always kept, even alone above the limit. Not thread-safe: the caller serialises access (and
/// must not use a model after a later <see cref="Get"/> may have evicted and disposed it).
/// </summary>
/// <param name="maxBytes">The most bytes of loaded models kept (at least one model is kept whatever its size).</param>
public sealed class LoadedModelCache(ModelStore models, BackboneRegistry backbones, Device device, long maxBytes) : IDisposable
{
    private readonly Dictionary<string, (long Length, DateTime Written, string Sha256)> _contentOf = new(StringComparer.Ordinal);
    private readonly LinkedList<LoadedModel> _recent = new();

    /// <summary>Model files read and rebuilt into a module.</summary>
    public long Loads { get; private set; }

    /// <summary>Requests answered by a model already loaded.</summary>
    public long Hits { get; private set; }

    /// <summary>Models dropped (and disposed) to stay within the byte limit.</summary>
    public long Evictions { get; private set; }

    /// <summary>Models loaded now.</summary>
    public int Count => _recent.Count;

    /// <summary>Bytes of the models loaded now.</summary>
    public long Bytes => _recent.Sum(m => m.Bytes);

    public long MaxBytes => maxBytes;

    /// <summary>The model stored under <paramref name="modelId"/>, loaded onto the device and in eval mode: from memory
    /// when its content is loaded, else read from the model store (evicting the least recently used models beyond the limit).</summary>
    /// <exception cref="FileNotFoundException">No such model.</exception>
    /// <exception cref="WeightFileException">A frozen-backbone model whose backbone weights this worker no longer has.</exception>
    public LoadedModel Get(string modelId)
    {
        var sha256 = ContentOf(modelId);
        for (var node = _recent.First; node is not null; node = node.Next)
        {
            if (node.Value.Sha256 != sha256) continue;
            _recent.Remove(node);
            _recent.AddFirst(node);
            Hits++;
            Telemetry.PredictModelHits.Add(1);
            return node.Value;
        }
        ClassifierModel model;
        ModelMetadata metadata;
        using (var stream = models.OpenRead(modelId))
            (model, metadata) = ModelArtifact.Load(stream, backbones);
        model.to(device);
        var bytes = model.parameters().Concat(model.buffers()).Sum(t => t.numel() * t.element_size());
        var loaded = new LoadedModel(sha256, model, metadata, bytes);
        _recent.AddFirst(loaded);
        Loads++;
        Telemetry.PredictModelLoads.Add(1);
        while (_recent.Count > 1 && Bytes > maxBytes)
        {
            _recent.Last!.Value.Model.Dispose();
            _recent.RemoveLast();
            Evictions++;
            Telemetry.PredictModelEvictions.Add(1);
        }
        return loaded;
    }

    /// <summary>The SHA-256 of the model file, hashed again only when its length or last-write time changed.</summary>
    private string ContentOf(string modelId)
    {
        var file = new FileInfo(models.PathOf(modelId));
        if (!file.Exists) throw new FileNotFoundException($"No model '{modelId}' on this worker.");
        var (length, written) = (file.Length, file.LastWriteTimeUtc);
        if (_contentOf.TryGetValue(modelId, out var known) && known.Length == length && known.Written == written) return known.Sha256;
        using var stream = models.OpenRead(modelId);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        _contentOf[modelId] = (length, written, sha256);
        return sha256;
    }

    public void Dispose()
    {
        foreach (var entry in _recent) entry.Model.Dispose();
        _recent.Clear();
        _contentOf.Clear();
    }
}
