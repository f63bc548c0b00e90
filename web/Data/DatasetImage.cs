namespace TransferHub.Web.Data;

public enum DatasetSplit { Unassigned, Train, Val, Test }

/// <summary>One image of a dataset. The bytes live once on disk, addressed by <see cref="Sha256"/>;
/// a dataset holds each content hash at most once.</summary>
public class DatasetImage
{
    public const int Sha256Length = 64;
    public const int OriginalNameMaxLength = 512;

    public long Id { get; set; }
    public int DatasetId { get; set; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public required string Sha256 { get; set; }

    /// <summary>The label; null while unlabelled. A class with images cannot be deleted by accident
    /// (the database refuses), so whoever deletes one decides what happens to its images.</summary>
    public int? ClassId { get; set; }

    public DatasetSplit Split { get; set; } = DatasetSplit.Unassigned;
    public required string OriginalName { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    public bool Flagged { get; set; }

    /// <summary>64-bit difference hash of the pixels (<see cref="Imaging.ImageDigest.DifferenceHash"/>), for finding
    /// near-duplicates; null for images imported before it existed (computed on the next duplicate search).</summary>
    public long? PerceptualHash { get; set; }

    /// <summary>Null when the account that added it was deleted.</summary>
    public string? AddedByUserId { get; set; }
    public DateTime AddedAt { get; set; }

    public Dataset? Dataset { get; set; }
    public DatasetClass? Class { get; set; }
    public ApplicationUser? AddedBy { get; set; }
}
