namespace TransferHub.Web.Data;

/// <summary>A recent deletion that can still be undone (<see cref="Features.Datasets.Curation.DeletionUndo"/>): the
/// deleted rows as JSON, kept in the database so that an undo reaches any web instance (ADR 035). Removed when taken,
/// and once <see cref="Until"/> has passed.</summary>
public class KeptDeletionRow
{
    /// <summary>The receipt's undo token (random, unguessable; no permission by itself).</summary>
    public Guid Token { get; set; }
    public int DatasetId { get; set; }
    /// <summary>UTC: the undo window ends.</summary>
    public DateTime Until { get; set; }
    /// <summary>A <see cref="Features.Datasets.Curation.DeletionSnapshot"/> as JSON.</summary>
    public required string Snapshot { get; set; }

    public Dataset? Dataset { get; set; }
}
