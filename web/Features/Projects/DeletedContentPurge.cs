using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Projects;

/// <summary>
/// Finishes deletes whose undo window has passed (ADR 019), at start and then every <see cref="Interval"/>:
/// <list type="bullet">
/// <item>a deleted project goes for good with everything in it (the database cascades to datasets, classes, images,
/// runs and their metrics), and so do its runs' stored models;</item>
/// <item>a deleted dataset loses its classes and images; the row itself goes only when no run refers to it, else it
/// stays, hidden, as what those runs were trained on (name, project, when it was deleted).</item>
/// </list>
/// Image files stay in the content-addressed store, which never deletes (other datasets and kept runs may show them).
/// </summary>
public sealed class DeletedContentPurge(IDbContextFactory<TransferHubDbContext> dbFactory, ModelStore models, TimeProvider clock,
    ILogger<DeletedContentPurge> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <summary>Purges what is due now; returns how many projects and datasets were finished.</summary>
    public async Task<(int Projects, int Datasets)> PurgeAsync(CancellationToken cancellationToken = default)
    {
        var cutoff = (clock.GetUtcNow() - Removal.PurgeAfter).UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        var projects = db.Projects.Where(p => p.DeletedAt != null && p.DeletedAt <= cutoff);
        var runsOfProjects = await db.Jobs.Where(j => projects.Any(p => p.Id == j.Dataset!.ProjectId)).Select(j => j.Id).ToListAsync(cancellationToken);
        var purgedProjects = await projects.ExecuteDeleteAsync(cancellationToken);
        foreach (var run in runsOfProjects)
            models.Delete(run);

        var datasets = db.Datasets.Where(d => d.DeletedAt != null && d.DeletedAt <= cutoff);
        var due = await datasets.CountAsync(d => d.Images.Any() || d.Classes.Any() || !db.Jobs.Any(j => j.DatasetId == d.Id), cancellationToken);
        await db.DatasetImages.Where(i => datasets.Any(d => d.Id == i.DatasetId)).ExecuteDeleteAsync(cancellationToken);
        await db.DatasetClasses.Where(c => datasets.Any(d => d.Id == c.DatasetId)).ExecuteDeleteAsync(cancellationToken);
        await datasets.Where(d => !db.Jobs.Any(j => j.DatasetId == d.Id)).ExecuteDeleteAsync(cancellationToken);

        if (purgedProjects + due > 0)
            logger.LogInformation("Purged {Projects} deleted project(s) and {Datasets} deleted dataset(s) whose undo window had passed", purgedProjects, due);
        return (purgedProjects, due);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                await PurgeAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Purging deleted projects and datasets failed; trying again in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
