namespace TransferHub.Web.Data;

/// <summary>The unit of ownership: every project (and everything in it) belongs to exactly one team.</summary>
public class Team
{
    public const int NameMaxLength = 100;

    public int Id { get; set; }
    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }

    public List<TeamMember> Members { get; set; } = [];
    public List<Project> Projects { get; set; } = [];
}
