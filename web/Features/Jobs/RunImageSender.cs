using Microsoft.Extensions.Options;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Jobs;

/// <summary>Puts a run spec's images on a worker before it is asked to use them (a run attempt, the learning-rate
/// finder): the worker names those it lacks (content hashes make this a set difference), the web reads them from its
/// store and uploads them in batches of <see cref="JobsOptions.UploadBatchImages"/>.</summary>
public sealed class RunImageSender(WorkerGateway gateway, ImageStore images, IOptions<JobsOptions> options)
{
    /// <param name="spec">A stored run spec (<see cref="RunSpec.Encode"/>).</param>
    /// <param name="announce">Told (missing, all) before anything is sent, e.g. to write it to the run's log.</param>
    /// <exception cref="WorkerRefusedException">InvalidInput: an image is missing from the web's storage (the dataset
    /// must be re-imported); the gateway's exceptions for the worker.</exception>
    public Task SendMissingAsync(WorkerNode worker, byte[] spec, Func<int, int, Task>? announce, CancellationToken cancellationToken) =>
        SendMissingAsync(worker, RunSpec.ImageHashes(spec), announce, cancellationToken);

    /// <summary>The same for a list of content hashes (e.g. images to embed).</summary>
    public async Task SendMissingAsync(WorkerNode worker, IReadOnlyList<string> all, Func<int, int, Task>? announce, CancellationToken cancellationToken)
    {
        var missing = await gateway.FindMissingImagesAsync(worker, all, cancellationToken);
        if (announce is not null) await announce(missing.Count, all.Count);
        if (missing.Count == 0) return;
        var absent = missing.FirstOrDefault(sha => !images.Contains(sha));
        if (absent is not null)
            throw new WorkerRefusedException(worker.Name, RefusalKind.InvalidInput,
                $"Image {absent} is missing from the web's storage; the dataset must be re-imported.");
        await gateway.UploadImagesAsync(worker, missing, images.ReadImageAsync, options.Value.UploadBatchImages, cancellationToken);
    }
}
