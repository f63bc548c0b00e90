using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;

namespace TransferHub.Web.Features.Projects;

/// <summary>A deleted project or dataset that <c>RestoreAsync</c> brings back until <see cref="UndoUntil"/>.</summary>
public sealed record RemovalReceipt(int Id, string Name, DateTimeOffset UndoUntil);

/// <summary>What deleting a project or dataset takes with it, for the confirmation (and what stays: a dataset's runs).</summary>
/// <param name="Datasets">datasets in it (1 for a dataset)</param>
/// <param name="Images">images in them</param>
/// <param name="Runs">runs of them</param>
/// <param name="ActiveRuns">runs still queued or training, which block the delete</param>
public sealed record RemovalImpact(string Name, int Datasets, int Images, int Runs, int ActiveRuns);

/// <summary>
/// The rules shared by deleting projects and datasets (ADR 019): a delete only marks the row (<c>DeletedAt</c>), which
/// hides it and everything in it from every <see cref="Teams.TeamAccess"/> query at once; an editor can undo it for
/// <see cref="Window"/> (the same as an image delete); <see cref="DeletedContentPurge"/> removes it for good after
/// <see cref="PurgeAfter"/>. Runs that are still queued or training block a delete.
/// </summary>
public static class Removal
{
    /// <summary>How long a delete can be undone: the image-delete window, so undo means the same everywhere.</summary>
    public static TimeSpan Window => DeletionUndo.Window;

    /// <summary>When the purge may remove a deleted row: a little after <see cref="Window"/>, so an undo accepted at its
    /// last moment never meets a half-purged dataset.</summary>
    public static TimeSpan PurgeAfter => Window + TimeSpan.FromMinutes(1);

    /// <summary>Whether a row deleted at <paramref name="deletedAt"/> can still be restored at <paramref name="now"/>.</summary>
    public static bool CanUndo(DateTime deletedAt, DateTimeOffset now) => Until(deletedAt) > now;

    public static DateTimeOffset Until(DateTime deletedAt) => new DateTimeOffset(DateTime.SpecifyKind(deletedAt, DateTimeKind.Utc)) + Window;

    public static string Expired => $"This can no longer be undone: undo lasts {Window.TotalMinutes:0} minutes.";

    /// <summary>The runs that block deleting: queued, starting, training or copying their model.</summary>
    public static IQueryable<TrainingJob> Active(IQueryable<TrainingJob> jobs) =>
        jobs.Where(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing);

    /// <summary>Refuses when runs of <paramref name="what"/> are active.</summary>
    public static async Task RefuseWhileActiveAsync(IQueryable<TrainingJob> jobs, string what, CancellationToken cancellationToken)
    {
        var active = await Active(jobs).OrderBy(j => j.Id).Select(j => j.Id).ToListAsync(cancellationToken);
        if (active.Count > 0)
            throw new RuleViolationException($"{what} has {(active.Count == 1 ? "a run" : $"{active.Count} runs")} still queued or training " +
                $"({string.Join(", ", active.Take(5).Select(id => $"#{id}"))}): cancel {(active.Count == 1 ? "it" : "them")} or let " +
                $"{(active.Count == 1 ? "it" : "them")} finish, then delete.");
    }

    /// <summary><paramref name="name"/>, or "name (restored)", "name (restored 2)"… whichever <paramref name="taken"/> does not
    /// hold: a restored row whose name was reused meanwhile comes back under a free one. Fits <paramref name="maxLength"/>.</summary>
    public static async Task<string> FreeNameAsync(string name, int maxLength, Func<string, Task<bool>> taken)
    {
        if (!await taken(name)) return name;
        for (var n = 1; ; n++)
        {
            var suffix = n == 1 ? " (restored)" : $" (restored {n})";
            var candidate = name[..Math.Min(name.Length, maxLength - suffix.Length)].TrimEnd() + suffix;
            if (!await taken(candidate)) return candidate;
        }
    }
}
