namespace TransferHub.Web.Data;

/// <summary>What a member may do in a team. Each role includes everything the roles after it may do.</summary>
public enum TeamRole
{
    /// <summary>Manages members, and everything an editor does.</summary>
    Owner,
    /// <summary>Changes content (projects, datasets, jobs), but not membership.</summary>
    Editor,
    /// <summary>Reads everything in the team, changes nothing.</summary>
    Viewer,
}

/// <summary>A user's membership of a team (key: team + user).</summary>
public class TeamMember
{
    public int TeamId { get; set; }
    public required string UserId { get; set; }
    public TeamRole Role { get; set; }
    public DateTime AddedAt { get; set; }

    public Team? Team { get; set; }
    public ApplicationUser? User { get; set; }
}
