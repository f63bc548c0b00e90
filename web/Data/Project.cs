namespace TransferHub.Web.Data;

/// <summary>A piece of work inside a team: its datasets, jobs and models hang off it.</summary>
public class Project
{
    public const int NameMaxLength = 100;
    public const int DescriptionMaxLength = 2000;

    public int Id { get; set; }
    public int TeamId { get; set; }
    public required string Name { get; set; }
    public string Description { get; set; } = "";
    public DateTime CreatedAt { get; set; }

    /// <summary>When it was deleted; null while it exists. A deleted project (with everything in it) is hidden at once,
    /// can be restored within the undo window, and is removed after it (docs/decisions/019).</summary>
    public DateTime? DeletedAt { get; set; }

    public Team? Team { get; set; }
    public List<Dataset> Datasets { get; set; } = [];
}
