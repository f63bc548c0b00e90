using System.Collections.Concurrent;
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
/// Recent deletions, kept in memory (a singleton) for <see cref="Window"/> so that they can be undone. A token is
/// an unguessable id, but it is not a permission: the restoring service checks the caller's role again. Nothing is
/// persisted: a restart ends every undo window.
/// </summary>
public sealed class DeletionUndo(TimeProvider clock)
{
    /// <summary>How long a deletion can be undone. The snackbar offering it is shown for less.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<Guid, KeptDeletion> _kept = new();

    public DeleteReceipt Keep(DeletionSnapshot snapshot)
    {
        Prune();
        var token = Guid.NewGuid();
        var kept = new KeptDeletion(snapshot, clock.GetUtcNow() + Window);
        _kept[token] = kept;
        return new DeleteReceipt(snapshot.Images.Count + (snapshot.Unlabelled?.Count ?? 0), token, kept.Until);
    }

    /// <summary>Takes the deletion out (so it is restored at most once), or null when the token is unknown, expired
    /// or belongs to another dataset.</summary>
    public KeptDeletion? Take(Guid token, int datasetId)
    {
        Prune();
        if (!_kept.TryGetValue(token, out var kept) || kept.Snapshot.DatasetId != datasetId) return null;
        return _kept.TryRemove(new KeyValuePair<Guid, KeptDeletion>(token, kept)) ? kept : null;
    }

    /// <summary>Puts a taken deletion back (its restore was refused), if its window is still open.</summary>
    public void PutBack(Guid token, KeptDeletion kept)
    {
        if (kept.Until > clock.GetUtcNow()) _kept.TryAdd(token, kept);
    }

    private void Prune()
    {
        var now = clock.GetUtcNow();
        foreach (var (token, kept) in _kept)
            if (kept.Until <= now) _kept.TryRemove(token, out _);
    }
}
