namespace TransferHub.Web.Data;

/// <summary>
/// An invite link to a team, made by one of its owners for someone who may not have an account yet: whoever opens
/// the link and registers or signs in becomes a member with <see cref="Role"/>. There is no mail server, so the owner
/// copies the link; it works once, until <see cref="ExpiresAt"/>, unless revoked. Only the SHA-256 of the link's secret is
/// stored (the link is shown once, when made), as for <see cref="PersonalAccessToken"/>.
/// </summary>
public class TeamInvitation
{
    public const int HintMaxLength = 16;

    public int Id { get; set; }
    public int TeamId { get; set; }

    /// <summary>Lower-case hex SHA-256 of the link's secret (<c>thi_…</c>); unique, what an opened link is looked up by.</summary>
    public required string TokenHash { get; set; }

    /// <summary>The secret's first characters and an ellipsis (<c>thi_Xy3q…</c>), so owners can tell links apart.</summary>
    public required string Hint { get; set; }

    /// <summary>The role the invitee gets, chosen by the owner who made the link.</summary>
    public TeamRole Role { get; set; }

    /// <summary>The owner who made it; null once their account is deleted.</summary>
    public string? CreatedByUserId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    /// <summary>When the link was used (it works once), and by whom (null once that account is deleted).</summary>
    public DateTime? UsedAt { get; set; }
    public string? UsedByUserId { get; set; }

    public Team? Team { get; set; }
    public ApplicationUser? CreatedBy { get; set; }
    public ApplicationUser? UsedBy { get; set; }
}
