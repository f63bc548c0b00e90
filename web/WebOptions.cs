using System.ComponentModel.DataAnnotations;

namespace TransferHub.Web;

/// <summary>The web app's own settings (section "Web"), validated at start.</summary>
public sealed record WebOptions
{
    public const string Section = "Web";

    /// <summary>This account gets the site-admin role (at registration, or at the next start if it already
    /// exists), and no other account gets it automatically. Unset: the first account registered gets it.</summary>
    [EmailAddress(ErrorMessage = "Web:AdminEmail must be an email address.")]
    public string? AdminEmail { get; init; }

    /// <summary>Require a confirmed email before signing in. Off by default: no mail server is assumed.</summary>
    public bool RequireConfirmedAccount { get; init; }
}
