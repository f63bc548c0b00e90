using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Api;

/// <summary>A token as its owner sees it on the profile page (never with its secret).</summary>
public sealed record TokenView(int Id, string Name, string Hint, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? ExpiresAt, DateTime? RevokedAt)
{
    public bool IsActiveAt(DateTime now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A token just made: the only time its <see cref="Secret"/> is known.</summary>
public sealed record CreatedToken(TokenView Token, string Secret);

/// <summary>Who a presented secret belongs to, or why it is refused (<see cref="UserId"/> null).</summary>
public sealed record TokenCheck(string? UserId, int? TokenId, string? Problem)
{
    public static TokenCheck Refused(string problem) => new(null, null, problem);
}

/// <summary>Personal access tokens: made, listed and revoked by their owner (<c>userId</c> is always the signed-in
/// caller), and checked for the API. A secret is <c>thp_</c> + 32 random bytes in base64url; only its SHA-256 is
/// stored, so the database cannot give a token away.</summary>
public sealed class PersonalAccessTokenService(IDbContextFactory<TransferHubDbContext> dbFactory, TimeProvider clock)
{
    public const string Prefix = "thp_";
    public const int MaxActivePerUser = 50;
    private const int SecretBytes = 32;
    private static readonly int SecretLength = Prefix.Length + Base64Url.GetEncodedLength(SecretBytes);
    private const int HintCharacters = 6;

    /// <summary>How stale <see cref="PersonalAccessToken.LastUsedAt"/> may get: at most one write per token per minute.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<CreatedToken> CreateAsync(string userId, string name, DateTime? expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var tokenName = Names.Require(name, PersonalAccessToken.NameMaxLength, "A token");
        var now = clock.GetUtcNow().UtcDateTime;
        if (expiresAt is { } expiry && expiry.ToUniversalTime() <= now)
            throw new RuleViolationException("A token's expiry date must be in the future.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var active = await db.PersonalAccessTokens.CountAsync(t => t.UserId == userId && t.RevokedAt == null
            && (t.ExpiresAt == null || t.ExpiresAt > now), cancellationToken);
        if (active >= MaxActivePerUser)
            throw new RuleViolationException($"You already have {MaxActivePerUser} active tokens: revoke one you no longer use first.");

        var secret = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        var token = new PersonalAccessToken
        {
            UserId = userId,
            Name = tokenName,
            TokenHash = Hash(secret),
            Hint = secret[..(Prefix.Length + HintCharacters)] + "…",
            CreatedAt = now,
            ExpiresAt = expiresAt?.ToUniversalTime(),
        };
        db.PersonalAccessTokens.Add(token);
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedToken(View(token), secret);
    }

    /// <summary>The caller's tokens, newest first, revoked and expired ones included (they say so).</summary>
    public async Task<IReadOnlyList<TokenView>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.PersonalAccessTokens.Where(t => t.UserId == userId).OrderByDescending(t => t.Id)
            .Select(t => new TokenView(t.Id, t.Name, t.Hint, t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.RevokedAt))
            .ToListAsync(cancellationToken);
    }

    /// <summary>Revokes one of the caller's tokens; the next API call with it gets 401.</summary>
    /// <exception cref="NotFoundException">Not one of the caller's tokens.</exception>
    public async Task RevokeAsync(string userId, int tokenId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.PersonalAccessTokens.FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == userId, cancellationToken)
            ?? throw new NotFoundException("Token");
        if (token.RevokedAt is not null)
            return;
        token.RevokedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The owner of a presented secret, if it is known, not revoked and not expired. Notes the use.</summary>
    public async Task<TokenCheck> AuthenticateAsync(string secret, CancellationToken cancellationToken = default)
    {
        if (secret.Length != SecretLength || !secret.StartsWith(Prefix, StringComparison.Ordinal))
            return TokenCheck.Refused($"This is not a TransferHub personal access token (they start with {Prefix}).");
        var hash = Hash(secret);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.PersonalAccessTokens.AsNoTracking().Where(t => t.TokenHash == hash)
            .Select(t => new { t.Id, t.UserId, t.ExpiresAt, t.RevokedAt, t.LastUsedAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (token is null)
            return TokenCheck.Refused("The token is not known.");
        if (token.RevokedAt is not null)
            return TokenCheck.Refused("The token was revoked.");
        if (token.ExpiresAt <= now)
            return TokenCheck.Refused("The token has expired.");
        if (token.LastUsedAt is not { } used || now - used >= LastUsedResolution)
            await db.PersonalAccessTokens.Where(t => t.Id == token.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), cancellationToken);
        return new TokenCheck(token.UserId, token.Id, null);
    }

    /// <summary>Lower-case hex SHA-256 of the secret's UTF-8 bytes: what is stored and looked up.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static TokenView View(PersonalAccessToken t) => new(t.Id, t.Name, t.Hint, t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.RevokedAt);
}
