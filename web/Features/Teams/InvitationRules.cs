using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

/// <summary>Where an invite link stands. Only <see cref="Open"/> links make members.</summary>
public enum InvitationState { Open, Used, Revoked, Expired }

/// <summary>
/// The rules of invite links, pure (no database): secrets and their hashes, lifetimes, a link's state at a moment, and
/// why one cannot be used or managed. <see cref="InvitationService"/> applies them; every refusal is worded here.
/// </summary>
public static partial class InvitationRules
{
    /// <summary>The secret's prefix: "TransferHub invitation".</summary>
    public const string Prefix = "thi_";

    /// <summary>32 random bytes: as hard to guess as a personal access token.</summary>
    public const int SecretBytes = 32;

    /// <summary>The lifetimes an owner chooses from, in days; the first is the default.</summary>
    public static readonly IReadOnlyList<int> LifetimeDays = [7, 1, 30];

    /// <summary>The longest a link may stay open.</summary>
    public const int MaxLifetimeDays = 30;

    /// <summary>A new secret: <see cref="Prefix"/> + 32 random bytes in base64url (47 characters, URL-safe).</summary>
    public static string NewSecret() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>Lower-case hex SHA-256 of a secret: what is stored and looked up.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>"thi_Xy3qAb…": enough to tell links apart, far too little to use one.</summary>
    public static string HintOf(string secret) => secret[..Math.Min(secret.Length, Prefix.Length + 6)] + "…";

    /// <summary>The path of the page a link opens (base-relative): <c>invite/{secret}</c>.</summary>
    public static string PathOf(string secret) => $"invite/{secret}";

    /// <summary>The secret in a return URL that is an invite page (<c>invite/thi_…</c>, with or without a leading slash),
    /// else null: registering or signing in from an invite page uses the link.</summary>
    public static string? SecretInReturnUrl(string? returnUrl) =>
        returnUrl is not null && InvitePath().Match(returnUrl) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>When a link made at <paramref name="now"/> for <paramref name="days"/> days closes.</summary>
    /// <exception cref="InvalidInputException">Days outside 1 to <see cref="MaxLifetimeDays"/>.</exception>
    public static DateTime ExpiryOf(DateTime now, int days) => days is >= 1 and <= MaxLifetimeDays
        ? now.AddDays(days)
        : throw new InvalidInputException([("days", $"An invite link lasts 1 to {MaxLifetimeDays} days; got {days}.")]);

    /// <summary>A link's state at <paramref name="now"/>: revoked, then used, then expired (the first that applies), else open.</summary>
    public static InvitationState StateOf(TeamInvitation invitation, DateTime now) =>
        invitation.RevokedAt is not null ? InvitationState.Revoked
        : invitation.UsedAt is not null ? InvitationState.Used
        : now >= invitation.ExpiresAt ? InvitationState.Expired
        : InvitationState.Open;

    /// <summary>Why a link cannot make a member now (null: it can), in words for the person who opened it.</summary>
    public static string? WhyNotUsable(TeamInvitation invitation, DateTime now) => StateOf(invitation, now) switch
    {
        InvitationState.Revoked => "This invite link was revoked by a team owner. Ask them for a new one.",
        InvitationState.Used => "This invite link has already been used: each link works once. Ask a team owner for a new one.",
        InvitationState.Expired => $"This invite link expired on {invitation.ExpiresAt:yyyy-MM-dd HH:mm} UTC. Ask a team owner for a new one.",
        _ => null,
    };

    /// <summary>Whether an owner managing team <paramref name="teamId"/> may revoke <paramref name="invitation"/>: it must be
    /// that team's (another team's link is "not found", as every other team's row is) and still open.</summary>
    /// <exception cref="NotFoundException">The link belongs to another team.</exception>
    /// <exception cref="RuleViolationException">It is no longer open (used, revoked or expired).</exception>
    public static void RequireRevocable(TeamInvitation invitation, int teamId, DateTime now)
    {
        if (invitation.TeamId != teamId) throw new NotFoundException("Invite link");
        var state = StateOf(invitation, now);
        if (state != InvitationState.Open)
            throw new RuleViolationException($"This invite link is already {state.ToString().ToLowerInvariant()}: there is nothing to revoke.");
    }

    [GeneratedRegex(@"^/?invite/(thi_[A-Za-z0-9_-]{20,100})/?$")]
    private static partial Regex InvitePath();
}
