using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Worker.V1;
using JobStatus = TransferHub.Web.Data.JobStatus;

namespace TransferHub.Web.Features.Workers;

public sealed record WorkerSummary(int Id, string Name, string Address, string TokenHint, bool Enabled, bool Draining, bool IsLocal,
    WorkerStatus Status, DateTime? LastSeenAt, string? LastError, string? DeviceKind, string? DeviceName, string? Version,
    int Capacity, IReadOnlyList<string> Backbones, IReadOnlyList<int> CurrentJobs)
{
    /// <summary>What the admin sees: disabled, offline, draining, busy (running jobs), online, or not yet contacted.</summary>
    public string State => !Enabled ? "disabled" : Status == WorkerStatus.Offline ? "offline" : Draining ? "draining"
        : CurrentJobs.Count > 0 ? "busy" : Status == WorkerStatus.Online ? "online" : "not contacted yet";
}

/// <summary>The outcome of "Test connection": health, then GetInfo with the stored token.</summary>
public sealed record ConnectionTest(bool Ok, string Message, WorkerInfo? Info);

/// <summary>Registers and manages GPU workers. Site admins only; tokens are stored encrypted and never shown again.</summary>
public sealed class WorkerRegistryService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerClientFactory clients,
    IDataProtectionProvider dataProtection,
    TimeProvider clock)
{
    private const int MinimumTokenLength = 16;
    private static readonly TimeSpan ContactTimeout = TimeSpan.FromSeconds(5);
    private readonly IDataProtector _tokens = dataProtection.CreateProtector("TransferHub.Workers.Token.v1");

    public async Task<IReadOnlyList<WorkerSummary>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await RequireAdminAsync(db, userId, cancellationToken);
        var workers = await db.Workers.OrderByDescending(w => w.IsLocal).ThenBy(w => w.Name).ToListAsync(cancellationToken);
        var running = (await db.Jobs.Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.WorkerId != null)
            .Select(j => new { WorkerId = j.WorkerId!.Value, j.Id }).ToListAsync(cancellationToken)).ToLookup(j => j.WorkerId, j => j.Id);
        return [.. workers.Select(w => Summary(w, [.. running[w.Id].Order()]))];
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

    /// <summary>The decrypted token of a worker, for the job scheduler (not for pages).</summary>
    internal string TokenOf(WorkerNode worker) => _tokens.Unprotect(worker.ProtectedToken);

    /// <summary>Contacts the worker and updates <paramref name="worker"/> (not saved).</summary>
    internal async Task<ConnectionTest> ContactAsync(WorkerNode worker, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        try
        {
            var deadline = DateTime.UtcNow + ContactTimeout;
            var health = await clients.Health(worker.Address).CheckAsync(new HealthCheckRequest(), deadline: deadline, cancellationToken: cancellationToken);
            if (health.Status != HealthCheckResponse.Types.ServingStatus.Serving)
                return Failed($"The worker answers but reports {health.Status}.");
            var info = await clients.Client(worker.Address, TokenOf(worker)).GetInfoAsync(new GetInfoRequest(), deadline: deadline, cancellationToken: cancellationToken);
            worker.Status = WorkerStatus.Online;
            worker.LastSeenAt = now;
            worker.LastError = null;
            worker.DeviceKind = info.DeviceKind switch { DeviceKind.Cuda => "cuda", DeviceKind.Cpu => "cpu", _ => "unknown" };
            worker.DeviceName = Truncate(info.DeviceName, 200);
            var version = info.Version.Split('+')[0]; // without the commit hash
            worker.WorkerVersion = Truncate(version, 100);
            worker.Capacity = info.Capacity;
            worker.Backbones = Truncate(string.Join(",", info.Backbones.Where(b => b.Error == "").Select(b => b.Name)), 4000);
            var usable = info.Backbones.Count(b => b.Error == "");
            return new ConnectionTest(true, $"Connected: {info.Name} {version} on {info.DeviceName}, {usable} backbone(s), capacity {info.Capacity}.", info);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            return Failed("The worker refused the token (Unauthenticated): check that it matches the worker's Worker:Token.");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            return Failed($"{worker.Address} did not answer within {ContactTimeout.TotalSeconds:0} s.");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            return Failed($"Cannot reach {worker.Address}: {e.Status.Detail}");
        }
        catch (RpcException e)
        {
            return Failed($"The worker answered with an error: {e.StatusCode} {e.Status.Detail}");
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
            ProtectedToken = _tokens.Protect(token),
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
