namespace TransferHub.Web.Data;

/// <summary>A secret a user made on their profile to call the automation API as themselves. Only the SHA-256 of the
/// secret is stored (the secret is shown once, when made); <see cref="Hint"/> lets the user tell tokens apart.</summary>
public class PersonalAccessToken
{
    public const int NameMaxLength = 100;
    public const int HintMaxLength = 16;

    public int Id { get; set; }
    public required string UserId { get; set; }
    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the whole secret (<c>thp_…</c>); unique, the key the API looks tokens up by.</summary>
    public required string TokenHash { get; set; }

    /// <summary>The secret's first characters and an ellipsis, e.g. <c>thp_Xy3q…</c>.</summary>
    public required string Hint { get; set; }

    public DateTime CreatedAt { get; set; }
    /// <summary>Updated at most once a minute per token, so API calls do not each write.</summary>
    public DateTime? LastUsedAt { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    public ApplicationUser? User { get; set; }
}
