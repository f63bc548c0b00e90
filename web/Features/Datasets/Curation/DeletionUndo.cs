using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Datasets.Curation;

/// <summary>Everything a deleted image row held, so undo puts back exactly the same row (the bytes stay in the
/// content-addressed <see cref="Storage.ImageStore"/>, which never deletes, so nothing is uploaded again).</summary>
public sealed record DeletedImage(long Id, string Sha256, int? ClassId, string? ClassName, DatasetSplit Split, string OriginalName,
    int Width, int Height, bool Flagged, long? PerceptualHash, string? AddedByUserId, DateTime AddedAt)
{
    public static DeletedImage Of(DatasetImage image, string? className) => new(image.Id, image.Sha256, image.ClassId, className, image.Split,
        image.OriginalName, image.Width, image.Height, image.Flagged, image.PerceptualHash, image.AddedByUserId, image.AddedAt);
}

/// <summary>A deleted class: its name and where it stood (its ordinal is a model output index).</summary>
public sealed record DeletedClass(int Id, string Name, int Ordinal);

/// <summary>What one delete removed: images, and for a class delete the class and the images it left unlabelled.</summary>
public sealed record DeletionSnapshot(int DatasetId, IReadOnlyList<DeletedImage> Images, DeletedClass? Class = null, IReadOnlyList<long>? Unlabelled = null);

/// <summary>What a delete did, and the token that undoes it until <see cref="UndoUntil"/>.</summary>
public sealed record DeleteReceipt(int Images, Guid UndoToken, DateTimeOffset UndoUntil);

/// <summary>What an undo put back.</summary>
/// <param name="Images">image rows restored</param>
/// <param name="AlreadyThere">images skipped because the same content is in the dataset again (re-uploaded meanwhile)</param>
/// <param name="RecreatedClasses">classes that no longer existed and were created again under their old names</param>
public sealed record RestoreOutcome(int Images, int AlreadyThere, IReadOnlyList<string> RecreatedClasses);

/// <summary>A deletion waiting to be undone, until <see cref="Until"/>.</summary>
public sealed record KeptDeletion(DeletionSnapshot Snapshot, DateTimeOffset Until);

/// <summary>
/// Recent deletions, kept in the database (table KeptDeletions, one row per receipt) for <see cref="Window"/> so that
/// they can be undone from any web instance (ADR 035; ADR 008 kept them in one process's memory). A token is an
/// unguessable id, but it is not a permission: the restoring service checks the caller's role again. Expired rows are
/// pruned whenever a deletion is kept; a restart no longer ends an undo window.
/// </summary>
public sealed class DeletionUndo(IDbContextFactory<TransferHubDbContext> dbFactory, TimeProvider clock)
{
    /// <summary>How long a deletion can be undone. The snackbar offering it is shown for less.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    public async Task<DeleteReceipt> KeepAsync(DeletionSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var until = now + Window;
        until = until.AddTicks(-(until.Ticks % 10)); // what the database keeps (microseconds)
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.KeptDeletions.Where(k => k.Until <= now.UtcDateTime).ExecuteDeleteAsync(cancellationToken);
        var token = Guid.NewGuid();
        db.KeptDeletions.Add(new KeptDeletionRow { Token = token, DatasetId = snapshot.DatasetId, Until = until.UtcDateTime, Snapshot = JsonSerializer.Serialize(snapshot) });
        await db.SaveChangesAsync(cancellationToken);
        return new DeleteReceipt(snapshot.Images.Count + (snapshot.Unlabelled?.Count ?? 0), token, until);
    }

    /// <summary>Takes the deletion out (so it is restored at most once, even when two instances race: only the one whose
    /// delete of the row succeeds gets it), or null when the token is unknown, expired or belongs to another dataset.</summary>
    public async Task<KeptDeletion?> TakeAsync(Guid token, int datasetId, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.KeptDeletions.AsNoTracking().FirstOrDefaultAsync(k => k.Token == token && k.DatasetId == datasetId && k.Until > now, cancellationToken);
        if (row is null) return null;
        if (await db.KeptDeletions.Where(k => k.Token == token).ExecuteDeleteAsync(cancellationToken) != 1) return null;
        var snapshot = JsonSerializer.Deserialize<DeletionSnapshot>(row.Snapshot)
            ?? throw new InvalidOperationException($"The kept deletion {token} holds no snapshot.");
        return new KeptDeletion(snapshot, new DateTimeOffset(DateTime.SpecifyKind(row.Until, DateTimeKind.Utc)));
    }

    /// <summary>Puts a taken deletion back (its restore was refused), if its window is still open.</summary>
    public async Task PutBackAsync(Guid token, KeptDeletion kept, CancellationToken cancellationToken = default)
    {
        if (kept.Until <= clock.GetUtcNow()) return;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.KeptDeletions.Add(new KeptDeletionRow
        {
            Token = token, DatasetId = kept.Snapshot.DatasetId, Until = kept.Until.UtcDateTime, Snapshot = JsonSerializer.Serialize(kept.Snapshot),
        });
        await db.SaveChangesAsync(cancellationToken);
    }
}
