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

    public Project? Project { get; set; }
    public List<DatasetClass> Classes { get; set; } = [];
    public List<DatasetImage> Images { get; set; } = [];
}
