namespace TransferHub.Web.Storage;

/// <summary>Trained model artifacts copied from workers (zip: model.json + weights.safetensors), one per run, so
/// results outlive the worker that trained them.</summary>
public sealed class ModelStore
{
    private readonly string _root;

    /// <summary>Opens (creating) the store under <paramref name="root"/>/models and deletes temporary files that a
    /// process killed during a copy left behind (<see cref="OrphansRemoved"/> counts them); the scheduler copies the
    /// model of such a run again.</summary>
    public ModelStore(string root)
    {
        _root = Path.Combine(root, "models");
        Directory.CreateDirectory(_root);
        foreach (var orphan in Directory.EnumerateFiles(_root, "*.tmp"))
        {
            try
            {
                File.Delete(orphan);
                OrphansRemoved++;
            }
            catch (IOException)
            {
                // Another process still writes it (several web processes on one store): leave it.
            }
        }
    }

    /// <summary>Temporary files of interrupted copies deleted when the store was opened.</summary>
    public int OrphansRemoved { get; }

    public bool Contains(int jobId) => File.Exists(PathOf(jobId));

    /// <summary>Whether <paramref name="job"/> is a completed run whose model is stored here: the condition for
    /// predict, model downloads and ONNX export.</summary>
    public bool HasModelOf(Data.TrainingJob job) => HasModelOf(job.Id, job.Status, job.ModelId);

    /// <inheritdoc cref="HasModelOf(Data.TrainingJob)"/>
    public bool HasModelOf(int jobId, Data.JobStatus status, string? modelId) =>
        status == Data.JobStatus.Completed && modelId is not null && Contains(jobId);

    /// <summary>Whether the run's model has been exported to ONNX already (kept beside the zip).</summary>
    public bool ContainsOnnx(int jobId) => File.Exists(OnnxPathOf(jobId));

    public Stream OpenOnnx(int jobId) => File.OpenRead(OnnxPathOf(jobId));

    /// <summary>Writes the run's ONNX export through a temporary file, like <see cref="SaveAsync"/>.</summary>
    public Task<long> SaveOnnxAsync(int jobId, Func<Stream, Task> write) => WriteAsync(OnnxPathOf(jobId), write);

    public Stream OpenRead(int jobId) => File.OpenRead(PathOf(jobId));

    /// <summary>Writes through a temporary file: a half-downloaded model is never visible under the run's name.</summary>
    public Task<long> SaveAsync(int jobId, Func<Stream, Task> write) => WriteAsync(PathOf(jobId), write);

    /// <summary>Deletes the run's model and ONNX export, if stored (its run is gone for good).</summary>
    public void Delete(int jobId)
    {
        File.Delete(PathOf(jobId));
        File.Delete(OnnxPathOf(jobId));
    }

    private static async Task<long> WriteAsync(string path, Func<Stream, Task> write)
    {
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

    private string OnnxPathOf(int jobId) => Path.Combine(_root, $"run-{jobId}.onnx");
}
