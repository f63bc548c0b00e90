namespace TransferHub.Web.Data;

/// <summary>
/// A worker's embedding of one image content for near-duplicate search (worker.proto EmbedImages): a unit vector of
/// <see cref="Dim"/> float32 values, little-endian, in <see cref="Vector"/>. Keyed by content and
/// <see cref="Method"/> (the worker's description of how it embeds: backbone, size, pooling; equal strings mean
/// comparable vectors), so a search embeds only images no earlier search embedded, in any dataset. Derived from the
/// content alone: not team-owned, and reachable only through an image row the caller may see.
/// </summary>
public class ImageEmbeddingRow
{
    public required string Sha256 { get; set; }
    public required string Method { get; set; }
    public int Dim { get; set; }
    public required byte[] Vector { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>"Not duplicates": an editor looked at two images a near-duplicate search grouped and said they are
/// different pictures. Remembered per dataset and pair of contents (<see cref="Sha256A"/> &lt; <see cref="Sha256B"/>,
/// ordinal), so later searches never join them directly.</summary>
public class DistinctImagePair
{
    public long Id { get; set; }
    public int DatasetId { get; set; }
    public required string Sha256A { get; set; }
    public required string Sha256B { get; set; }
    /// <summary>Null when the account was deleted.</summary>
    public string? MarkedByUserId { get; set; }
    public DateTime MarkedAt { get; set; }

    public Dataset? Dataset { get; set; }
}
