namespace TransferHub.Web.Storage;

/// <summary>Trained model artifacts copied from workers (zip: model.json + weights.safetensors), one per run, so
/// results outlive the worker that trained them. Several web processes may share the folder (ADR 034): every write goes
/// to a temporary file of its own in the same folder and is renamed into place (atomic on one file system), so a reader
/// sees a whole model or none.</summary>
public sealed class ModelStore
{
    /// <summary>A temporary file not written for this long belongs to a copy that will never finish (its process died).</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    private readonly string _root;

    /// <summary>Opens (creating) the store under <paramref name="root"/>/models and deletes temporary files that no
    /// process has written for <see cref="AbandonedAfter"/> (<see cref="OrphansRemoved"/> counts them). Younger ones
    /// may belong to another web instance's copy in progress; a run's own leftovers go when its model is copied again
    /// (<see cref="SaveAsync"/>).</summary>
    public ModelStore(string root)
    {
        _root = Path.Combine(root, "models");
        Directory.CreateDirectory(_root);
        foreach (var orphan in Directory.EnumerateFiles(_root, "*.tmp"))
            if (File.GetLastWriteTimeUtc(orphan) < DateTime.UtcNow - AbandonedAfter && TryDelete(orphan))
                OrphansRemoved++;
    }

    /// <summary>Abandoned temporary files deleted when the store was opened.</summary>
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

    /// <summary>Writes through a temporary file: a half-downloaded model is never visible under the run's name. First
    /// deletes the temporary files of earlier copies of this run's model (a web process killed mid-copy leaves one). The
    /// caller holds the run's lease (ADR 034), so any other copy of it still being written belongs to an instance that lost
    /// the run: its rename then fails (an <see cref="IOException"/> it retries or gives up on) and it could not complete the
    /// run anyway; the stored model is always one whole file. Returns the stored size in bytes.</summary>
    public Task<long> SaveAsync(int jobId, Func<Stream, Task> write)
    {
        foreach (var leftover in Directory.EnumerateFiles(_root, $"run-{jobId}.zip.*.tmp")) TryDelete(leftover);
        return WriteAsync(PathOf(jobId), write);
    }

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

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private string PathOf(int jobId) => Path.Combine(_root, $"run-{jobId}.zip");

    private string OnnxPathOf(int jobId) => Path.Combine(_root, $"run-{jobId}.onnx");
}
