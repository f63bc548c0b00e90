namespace TransferHub.Worker.Storage;

/// <summary>Trained model artifacts (zip: weights + model.json), one file per model id.</summary>
public sealed class ModelStore
{
    private readonly string _root;

    public ModelStore(string root)
    {
        _root = root;
        Directory.CreateDirectory(_root);
    }

    public bool Exists(string modelId) => IsValidId(modelId) && File.Exists(PathOf(modelId));

    public string PathOf(string modelId)
    {
        if (!IsValidId(modelId)) throw new ArgumentException($"'{modelId}' is not a model id.", nameof(modelId));
        return Path.Combine(_root, modelId + ".zip");
    }

    /// <summary>Writes the artifact through a temporary file so a half-written model is never visible.</summary>
    public void Save(string modelId, Action<Stream> write)
    {
        var path = PathOf(modelId);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp)) write(stream);
        File.Move(temp, path, overwrite: true);
    }

    public Stream OpenRead(string modelId) =>
        Exists(modelId) ? File.OpenRead(PathOf(modelId)) : throw new FileNotFoundException($"No model '{modelId}' on this worker.");

    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
