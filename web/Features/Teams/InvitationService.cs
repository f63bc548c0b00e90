using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

/// <summary>An invite link as its team's owners see it (never its secret, which is shown once).</summary>
public sealed record InvitationView(int Id, string Hint, TeamRole Role, string? CreatedBy, DateTime CreatedAt, DateTime ExpiresAt,
    InvitationState State, string? UsedBy, DateTime? UsedAt);

/// <summary>A link just made: its view and the secret, shown once (<see cref="Path"/> is the page it opens).</summary>
public sealed record NewInvitation(InvitationView Invitation, string Secret)
{
    public string Path => InvitationRules.PathOf(Secret);
}

/// <summary>What an opened link offers, shown to anyone holding it (signed in or not): the secret is the permission to see it.</summary>
public sealed record InvitationPreview(string TeamName, TeamRole Role, string? InvitedBy, DateTime ExpiresAt, string? WhyNotUsable);

/// <summary>What using a link did: the team joined, or the caller was a member already (then the link stays unused).</summary>
public sealed record InvitationAcceptance(int TeamId, string TeamName, TeamRole Role, bool AlreadyMember);

/// <summary>
/// Invite links (<see cref="TeamInvitation"/>, rules in <see cref="InvitationRules"/>): team owners make, list and revoke
/// them (checked here through <see cref="TeamAccess"/>, <see cref="TeamPermission.ManageMembers"/>); whoever holds an
/// open link joins the team with its role when they register or sign in from it, or press "Join".
/// </summary>
public sealed class InvitationService(IDbContextFactory<TransferHubDbContext> dbFactory, TimeProvider clock)
{
    /// <summary>Makes a link to <paramref name="teamId"/> giving <paramref name="role"/>, open for <paramref name="days"/> days
    /// (1–30) and for one use. Owners only.</summary>
    /// <exception cref="NotFoundException">Not a member of the team.</exception>
    /// <exception cref="ForbiddenException">A member who is not an owner.</exception>
    /// <exception cref="InvalidInputException">Days outside 1–30, or a role that does not exist.</exception>
    public async Task<NewInvitation> CreateAsync(string userId, int teamId, TeamRole role, int days, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(role)) throw new InvalidInputException([("role", $"There is no role {(int)role}.")]);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.ManageMembers, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var secret = InvitationRules.NewSecret();
        var invitation = new TeamInvitation
        {
            TeamId = teamId, TokenHash = InvitationRules.Hash(secret), Hint = InvitationRules.HintOf(secret), Role = role,
            CreatedByUserId = userId, CreatedAt = now, ExpiresAt = InvitationRules.ExpiryOf(now, days),
        };
        db.TeamInvitations.Add(invitation);
        await db.SaveChangesAsync(cancellationToken);
        var creator = await db.Users.Where(u => u.Id == userId).Select(u => u.Email).FirstOrDefaultAsync(cancellationToken);
        return new NewInvitation(View(invitation, creator, null, now), secret);
    }

    /// <summary>The team's links, newest first, with their state. Owners only (the links make members).</summary>
    public async Task<IReadOnlyList<InvitationView>> ListAsync(string userId, int teamId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.ManageMembers, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var rows = await db.TeamInvitations.Where(i => i.TeamId == teamId).OrderByDescending(i => i.Id)
            .Select(i => new { Invitation = i, CreatedBy = i.CreatedBy!.Email, UsedBy = i.UsedBy!.Email })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => View(r.Invitation, r.CreatedBy, r.UsedBy, now))];
    }

    /// <summary>Closes an open link of <paramref name="teamId"/> at once. Owners only; another team's link is "not found".</summary>
    public async Task RevokeAsync(string userId, int teamId, int invitationId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).DemandAsync(teamId, TeamPermission.ManageMembers, cancellationToken);
        var invitation = await db.TeamInvitations.FirstOrDefaultAsync(i => i.Id == invitationId, cancellationToken)
            ?? throw new NotFoundException("Invite link");
        var now = clock.GetUtcNow().UtcDateTime;
        InvitationRules.RequireRevocable(invitation, teamId, now);
        invitation.RevokedAt = now;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>What the link <paramref name="secret"/> offers and, if it can no longer be used, why; null for an unknown link.</summary>
    public async Task<InvitationPreview?> PreviewAsync(string secret, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var hash = InvitationRules.Hash(secret);
        var found = await db.TeamInvitations.Where(i => i.TokenHash == hash)
            .Select(i => new { Invitation = i, Team = i.Team!.Name, By = i.CreatedBy!.Email }).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : new InvitationPreview(found.Team, found.Invitation.Role, found.By, found.Invitation.ExpiresAt,
            InvitationRules.WhyNotUsable(found.Invitation, clock.GetUtcNow().UtcDateTime));
    }

    /// <summary>Uses the link for <paramref name="userId"/>: they become a member with its role, and the link is spent (two
    /// people using one link at once: one wins, the other is told it was used). A member already keeps their role and
    /// leaves the link unused.</summary>
    /// <exception cref="NotFoundException">No such link.</exception>
    /// <exception cref="RuleViolationException">Revoked, used or expired (<see cref="InvitationRules.WhyNotUsable"/>).</exception>
    public async Task<InvitationAcceptance> AcceptAsync(string userId, string secret, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var hash = InvitationRules.Hash(secret);
        var invitation = await db.TeamInvitations.Include(i => i.Team).FirstOrDefaultAsync(i => i.TokenHash == hash, cancellationToken)
            ?? throw new NotFoundException("Invite link");
        var now = clock.GetUtcNow().UtcDateTime;
        if (InvitationRules.WhyNotUsable(invitation, now) is { } why) throw new RuleViolationException(why);
        var teamName = invitation.Team!.Name;
        if (await db.TeamMembers.Where(m => m.TeamId == invitation.TeamId && m.UserId == userId).Select(m => (TeamRole?)m.Role)
                .FirstOrDefaultAsync(cancellationToken) is { } role)
            return new InvitationAcceptance(invitation.TeamId, teamName, role, AlreadyMember: true);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Spend the link only if nobody did meanwhile: the conditional update is the arbiter between two people at once.
        var spent = await db.TeamInvitations
            .Where(i => i.Id == invitation.Id && i.UsedAt == null && i.RevokedAt == null && i.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(i => i.UsedAt, now).SetProperty(i => i.UsedByUserId, userId), cancellationToken);
        if (spent == 0)
            throw new RuleViolationException(InvitationRules.WhyNotUsable(
                await db.TeamInvitations.AsNoTracking().FirstAsync(i => i.Id == invitation.Id, cancellationToken), now)
                ?? "This invite link can no longer be used.");
        db.TeamMembers.Add(new TeamMember { TeamId = invitation.TeamId, UserId = userId, Role = invitation.Role, AddedAt = now });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new InvitationAcceptance(invitation.TeamId, teamName, invitation.Role, AlreadyMember: false);
    }

    /// <summary>Where to go after registering or signing in from <paramref name="returnUrl"/>: when it is an invite page, the
    /// link is used for <paramref name="userId"/> and the answer is the team's page (<c>teams/{id}?joined=1</c>); a link that
    /// cannot be used leaves the invite page, which says why. Any other return URL is kept.</summary>
    public async Task<string?> AfterSignInAsync(string? userId, string? returnUrl, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(userId) || InvitationRules.SecretInReturnUrl(returnUrl) is not { } secret) return returnUrl;
        try
        {
            var joined = await AcceptAsync(userId, secret, cancellationToken);
            return $"teams/{joined.TeamId}?joined={(joined.AlreadyMember ? "already" : "1")}";
        }
        catch (FeatureException)
        {
            return returnUrl;
        }
    }

    private static InvitationView View(TeamInvitation i, string? createdBy, string? usedBy, DateTime now) =>
        new(i.Id, i.Hint, i.Role, createdBy, i.CreatedAt, i.ExpiresAt, InvitationRules.StateOf(i, now), usedBy, i.UsedAt);
}
