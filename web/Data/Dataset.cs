namespace TransferHub.Web.Data;

/// <summary>A labelled image set of a project.</summary>
public class Dataset
{
    public const int NameMaxLength = 100;

    public int Id { get; set; }
    public int ProjectId { get; set; }
    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }

    /// <summary>Once set, no image may enter or leave the test split, so runs stay comparable.</summary>
    public bool TestSplitFrozen { get; set; }

    /// <summary>When it was deleted; null while it exists. A deleted dataset is hidden at once and can be restored
    /// within the undo window; after it its classes and images are removed, and the row stays only while runs of it
    /// exist (they are kept, see docs/decisions/019).</summary>
    public DateTime? DeletedAt { get; set; }

    public Project? Project { get; set; }
    public List<DatasetClass> Classes { get; set; } = [];
    public List<DatasetImage> Images { get; set; } = [];
}
