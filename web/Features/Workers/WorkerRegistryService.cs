using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Workers;

public sealed record WorkerSummary(int Id, string Name, string Address, string TokenHint, bool Enabled, bool Draining, bool IsLocal,
    WorkerStatus Status, DateTime? LastSeenAt, string? LastError, string? DeviceKind, string? DeviceName, string? Version,
    int Capacity, IReadOnlyList<string> Backbones, IReadOnlyList<int> CurrentJobs)
{
    /// <summary>Each current run's id → how it is named: "Run #3 of Clothes" (its number in its project).</summary>
    public IReadOnlyDictionary<int, string> CurrentJobNames { get; init; } = new Dictionary<int, string>();

    /// <summary>What the admin sees: disabled, offline, draining, busy (running jobs), online, or not yet contacted.</summary>
    public string State => !Enabled ? "disabled" : Status == WorkerStatus.Offline ? "offline" : Draining ? "draining"
        : CurrentJobs.Count > 0 ? "busy" : Status == WorkerStatus.Online ? "online" : "not contacted yet";
}

/// <summary>The outcome of "Test connection": health, then GetInfo with the stored token.</summary>
public sealed record ConnectionTest(bool Ok, string Message, WorkerDescription? Info);

/// <summary>Registers and manages GPU workers. Site admins only; tokens are stored encrypted and never shown again.</summary>
public sealed class WorkerRegistryService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerGateway gateway,
    WorkerTokens tokens,
    TimeProvider clock)
{
    private const int MinimumTokenLength = 16;

    public async Task<IReadOnlyList<WorkerSummary>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var workers = await db.Workers.OrderByDescending(w => w.IsLocal).ThenBy(w => w.Name).ToListAsync(cancellationToken);
        var running = (await db.Jobs.Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running || j.Status == JobStatus.Finishing) && j.WorkerId != null)
            .Select(j => new { WorkerId = j.WorkerId!.Value, j.Id, j.Number, Project = j.Dataset!.Project!.Name }).ToListAsync(cancellationToken))
            .ToLookup(j => j.WorkerId);
        return [.. workers.Select(w => Summary(w, [.. running[w.Id].Select(j => j.Id).Order()]) with
        {
            CurrentJobNames = running[w.Id].ToDictionary(j => j.Id, j => $"Run #{j.Number} of {j.Project}"),
        })];
    }

    public async Task<int> RegisterAsync(string userId, string name, string address, string token, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var worker = NewWorker(name, address, token, isLocal: false);
        if (await db.Workers.AnyAsync(w => w.Name == worker.Name, cancellationToken))
            throw new RuleViolationException($"A worker named \"{worker.Name}\" is already registered.");
        db.Workers.Add(worker);
        await db.SaveChangesAsync(cancellationToken);
        return worker.Id;
    }

    /// <summary>Creates or updates a worker of the configured fleet (Workers:Fleet), found by name; no admin involved.
    /// Several web instances starting at once may both add it: the unique name lets one win, the other updates.</summary>
    public async Task<int> RegisterConfiguredAsync(string name, string address, string token, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var fresh = NewWorker(name, address, token, isLocal: false);
            var existing = await db.Workers.FirstOrDefaultAsync(w => w.Name == fresh.Name, cancellationToken);
            if (existing is null)
                db.Workers.Add(existing = fresh);
            else
                (existing.Address, existing.ProtectedToken, existing.TokenHint) = (fresh.Address, fresh.ProtectedToken, fresh.TokenHint);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return existing.Id;
            }
            catch (DbUpdateException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Creates or updates the worker configured with the web app (Workers:Local); no admin involved.</summary>
    public async Task<int> RegisterLocalAsync(string name, string address, string token, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var fresh = NewWorker(name, address, token, isLocal: true);
        var existing = await db.Workers.FirstOrDefaultAsync(w => w.IsLocal, cancellationToken);
        if (existing is null)
            db.Workers.Add(existing = fresh);
        else
            (existing.Name, existing.Address, existing.ProtectedToken, existing.TokenHint) = (fresh.Name, fresh.Address, fresh.ProtectedToken, fresh.TokenHint);
        await db.SaveChangesAsync(cancellationToken);
        return existing.Id;
    }

    public Task SetEnabledAsync(string userId, int workerId, bool enabled, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, workerId, w => w.Enabled = enabled, cancellationToken);

    public Task SetDrainingAsync(string userId, int workerId, bool draining, CancellationToken cancellationToken = default) =>
        ChangeAsync(userId, workerId, w => w.Draining = draining, cancellationToken);

    public async Task RemoveAsync(string userId, int workerId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var worker = await db.Workers.FindAsync([workerId], cancellationToken) ?? throw new NotFoundException("Worker");
        db.Workers.Remove(worker);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Calls the worker's health service and GetInfo; records what it said (or why it could not be reached).</summary>
    public async Task<ConnectionTest> TestConnectionAsync(string userId, int workerId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var worker = await db.Workers.FindAsync([workerId], cancellationToken) ?? throw new NotFoundException("Worker");
        var result = await ContactAsync(worker, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    /// <summary>Contacts the worker through the gateway and updates <paramref name="worker"/> with what it said, or
    /// why it could not be reached (not saved).</summary>
    internal async Task<ConnectionTest> ContactAsync(WorkerNode worker, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        try
        {
            var info = await gateway.DescribeAsync(worker, cancellationToken);
            worker.Status = WorkerStatus.Online;
            worker.LastSeenAt = now;
            worker.LastError = null;
            worker.DeviceKind = info.DeviceKind;
            worker.DeviceName = Truncate(info.DeviceName, 200);
            worker.WorkerVersion = Truncate(info.Version, 100);
            worker.Capacity = info.Capacity;
            // A restarted worker reports 0 until its first feature pass: the same hardware keeps its last measurement.
            if (info.FeatureImagesPerSecond is { } rate) worker.FeatureImagesPerSecond = rate;
            var usable = info.Backbones.Where(b => b.Error is null).ToList();
            worker.Backbones = Truncate(string.Join(",", usable.Select(b => b.Name)), 4000);
            return new ConnectionTest(true, $"Connected: {info.Name} {info.Version} on {info.DeviceName}, {usable.Count} backbone(s), capacity {info.Capacity}.", info);
        }
        catch (WorkerUnavailableException e)
        {
            return Failed($"Cannot reach {worker.Address}: {e.Detail}");
        }
        catch (WorkerRefusedException e)
        {
            return Failed(e.Kind == RefusalKind.Unauthenticated ? $"The worker refused the token (Unauthenticated): check that it matches the worker's Worker:Token."
                : $"The worker answered with an error: {e.Detail}");
        }

        ConnectionTest Failed(string message)
        {
            worker.Status = WorkerStatus.Offline;
            worker.LastError = Truncate(message, 1000);
            return new ConnectionTest(false, message, null);
        }
    }

    private WorkerNode NewWorker(string name, string address, string token, bool isLocal)
    {
        var workerName = Names.Require(name, WorkerNode.NameMaxLength, "A worker");
        if (!Uri.TryCreate(address?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            throw new RuleViolationException($"The address must look like http://host:port (got \"{address}\").");
        if (string.IsNullOrWhiteSpace(token) || token.Trim().Length < MinimumTokenLength)
            throw new RuleViolationException($"The token must have at least {MinimumTokenLength} characters (the worker's Worker:Token).");
        token = token.Trim();
        return new WorkerNode
        {
            Name = workerName,
            Address = uri.GetLeftPart(UriPartial.Authority),
            ProtectedToken = tokens.Protect(token),
            TokenHint = token[^4..],
            IsLocal = isLocal,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
    }

    private async Task ChangeAsync(string userId, int workerId, Action<WorkerNode> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var worker = await db.Workers.FindAsync([workerId], cancellationToken) ?? throw new NotFoundException("Worker");
        change(worker);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static async Task RequireAdminAsync(TransferHubDbContext db, string userId, CancellationToken cancellationToken)
    {
        var isAdmin = await db.UserRoles.AnyAsync(ur => ur.UserId == userId
            && db.Roles.Any(r => r.Id == ur.RoleId && r.Name == SiteAdmin.Role), cancellationToken);
        if (!isAdmin) throw new ForbiddenException("Only site admins manage workers.");
    }

    private static WorkerSummary Summary(WorkerNode w, IReadOnlyList<int> currentJobs) => new(w.Id, w.Name, w.Address, w.TokenHint, w.Enabled,
        w.Draining, w.IsLocal, w.Status, w.LastSeenAt, w.LastError, w.DeviceKind, w.DeviceName, w.WorkerVersion, w.Capacity,
        w.Backbones.Split(',', StringSplitOptions.RemoveEmptyEntries), currentJobs);

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
