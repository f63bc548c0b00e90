using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Jobs;

/// <summary>What the learning-rate finder answers: the curve and its suggestion, or why there is none.</summary>
public sealed record LearningRateFinding(LearningRateCurve? Curve, string? Problem);

/// <summary>
/// The learning-rate range test (Smith 2017; fastai's <c>lr_find</c>) for the launch form's settings on a dataset: the
/// settings are checked as a launch is (<see cref="RunLauncher"/>), the images sent to the first worker that answers,
/// and its curve returned with the suggested rate. Nothing is queued or stored. Feature extraction answers in seconds;
/// fine-tuning trains up to 100 mini-batches first.
/// </summary>
public sealed class LearningRateFinderService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    RunLauncher launcher,
    WorkerGateway gateway,
    RunImageSender imageSender)
{
    /// <exception cref="InvalidInputException">settings out of range, auto mode, a backbone no worker offers</exception>
    /// <exception cref="RuleViolationException">the dataset cannot train</exception>
    /// <exception cref="NotFoundException">no such dataset for this user</exception>
    /// <exception cref="ForbiddenException">viewers (it takes worker time like a run)</exception>
    public async Task<LearningRateFinding> FindAsync(string userId, int datasetId, JobSettings settings, int steps = 0,
        CancellationToken cancellationToken = default)
    {
        if (settings.Mode == TrainingMode.Auto)
            throw new InvalidInputException([("mode", "Auto mode has no learning rate to find: it trains its classifiers to convergence. Choose feature extraction or fine-tune.")]);
        var spec = await launcher.CheckedSpecAsync(userId, datasetId, settings, cancellationToken);
        List<WorkerNode> workers;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            workers = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Status == WorkerStatus.Online).ThenByDescending(w => w.IsLocal)
                .ToListAsync(cancellationToken);
        if (workers.Count == 0)
            return new LearningRateFinding(null, "No worker is registered or enabled: a site admin must register one (Workers page) first.");
        try
        {
            var (curve, _) = await WorkerGateway.FirstAnsweringAsync(workers, async worker =>
            {
                await imageSender.SendMissingAsync(worker, spec, null, cancellationToken);
                return await gateway.FindLearningRateAsync(worker, spec, steps, cancellationToken);
            });
            return new LearningRateFinding(curve, null);
        }
        catch (WorkerRefusedException e) when (e.Kind is RefusalKind.InvalidInput or RefusalKind.Precondition)
        {
            return new LearningRateFinding(null, $"Worker {e.WorkerName} refused: {e.Detail}");
        }
        catch (NoWorkerAnsweredException e)
        {
            return new LearningRateFinding(null, $"No worker could run the range test ({string.Join("; ", e.Problems)}).");
        }
    }
}
