namespace TransferHub.Web.Storage;

/// <summary>Trained model artifacts copied from workers (zip: model.json + weights.safetensors), one per run, so
/// results outlive the worker that trained them.</summary>
public sealed class ModelStore
{
    private readonly string _root;

    public ModelStore(string root)
    {
        _root = Path.Combine(root, "models");
        Directory.CreateDirectory(_root);
    }

    public bool Contains(int jobId) => File.Exists(PathOf(jobId));

    public Stream OpenRead(int jobId) => File.OpenRead(PathOf(jobId));

    /// <summary>Writes through a temporary file: a half-downloaded model is never visible under the run's name.</summary>
    public async Task<long> SaveAsync(int jobId, Func<Stream, Task> write)
    {
        var path = PathOf(jobId);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = File.Create(temp)) await write(stream);
            File.Move(temp, path, overwrite: true);
            return new FileInfo(path).Length;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private string PathOf(int jobId) => Path.Combine(_root, $"run-{jobId}.zip");
}
