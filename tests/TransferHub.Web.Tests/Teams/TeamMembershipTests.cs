using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Teams;

public sealed class TeamMembershipTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task CreatingATeamMakesTheCreatorItsOnlyOwner()
    {
        var userId = await app.CreateUserAsync($"creator-{Guid.NewGuid():N}@example.com");

        var teamId = await _services.Teams.CreateAsync(userId, "  Vision lab  ");

        var team = await _services.Teams.GetAsync(userId, teamId);
        Assert.NotNull(team);
        Assert.Equal("Vision lab", team.Name);
        var member = Assert.Single(team.Members);
        Assert.Equal((userId, TeamRole.Owner), (member.UserId, member.Role));
        Assert.True(team.CanManageMembers);
    }

    [Fact]
    public async Task AnOwnerAddsMembersByEmailChangesTheirRolesAndRemovesThem()
    {
        var s = await TeamScenario.CreateAsync(app);
        var newcomer = await app.CreateUserAsync($"newcomer-{s.Tag}@example.com");

        await _services.Teams.AddMemberAsync(s.OwnerId, s.TeamId, $"  NEWCOMER-{s.Tag}@Example.com ", TeamRole.Viewer);
        Assert.Equal(TeamRole.Viewer, await RoleOfAsync(s, newcomer));

        await _services.Teams.ChangeRoleAsync(s.OwnerId, s.TeamId, newcomer, TeamRole.Editor);
        Assert.Equal(TeamRole.Editor, await RoleOfAsync(s, newcomer));

        await _services.Teams.RemoveMemberAsync(s.OwnerId, s.TeamId, newcomer);
        Assert.Null(await RoleOfAsync(s, newcomer));
        Assert.Null(await _services.Teams.GetAsync(newcomer, s.TeamId));
    }

    [Fact]
    public async Task AddingAnUnknownEmailOrAnExistingMemberIsRefusedWithAReason()
    {
        var s = await TeamScenario.CreateAsync(app);

        var unknown = await Assert.ThrowsAsync<RuleViolationException>(() =>
            _services.Teams.AddMemberAsync(s.OwnerId, s.TeamId, "nobody@example.com", TeamRole.Viewer));
        Assert.Contains("no account", unknown.Message);
        var twice = await Assert.ThrowsAsync<RuleViolationException>(() =>
            _services.Teams.AddMemberAsync(s.OwnerId, s.TeamId, s.Email("viewer"), TeamRole.Editor));
        Assert.Contains("already a member", twice.Message);
        Assert.Equal(TeamRole.Viewer, await RoleOfAsync(s, s.ViewerId));
    }

    [Fact]
    public async Task TheLastOwnerCannotBeDemotedOrRemoved()
    {
        var s = await TeamScenario.CreateAsync(app);

        var demote = await Assert.ThrowsAsync<RuleViolationException>(() =>
            _services.Teams.ChangeRoleAsync(s.OwnerId, s.TeamId, s.OwnerId, TeamRole.Editor));
        var remove = await Assert.ThrowsAsync<RuleViolationException>(() =>
            _services.Teams.RemoveMemberAsync(s.OwnerId, s.TeamId, s.OwnerId));

        Assert.Contains("last owner", demote.Message);
        Assert.Contains("last owner", remove.Message);
        Assert.Equal(TeamRole.Owner, await RoleOfAsync(s, s.OwnerId));
    }

    [Fact]
    public async Task WithASecondOwnerTheFirstMayStepDownButTheSecondThenCannot()
    {
        var s = await TeamScenario.CreateAsync(app);
        await _services.Teams.ChangeRoleAsync(s.OwnerId, s.TeamId, s.EditorId, TeamRole.Owner);

        await _services.Teams.RemoveMemberAsync(s.OwnerId, s.TeamId, s.OwnerId);

        Assert.Null(await RoleOfAsync(s, s.OwnerId, asUser: s.EditorId));
        await Assert.ThrowsAsync<RuleViolationException>(() =>
            _services.Teams.ChangeRoleAsync(s.EditorId, s.TeamId, s.EditorId, TeamRole.Viewer));
    }

    [Fact]
    public async Task TwoOwnersDemotingEachOtherAtTheSameTimeLeaveExactlyOneOwner()
    {
        var s = await TeamScenario.CreateAsync(app);
        await _services.Teams.ChangeRoleAsync(s.OwnerId, s.TeamId, s.EditorId, TeamRole.Owner);
        using var first = new ServiceScope(app);
        using var second = new ServiceScope(app);

        // Hold back the writes so both requests are in flight at once: a check made outside a lock that spans the write
        // would now see two owners in both requests, and both demotions would go through. SQLite: hold its write lock.
        // PostgreSQL: lock the team's member rows (reads go on, the role updates wait).
        await using var blocker = await WriteBlocker.HoldAsync(app, s.TeamId);
        using var transactions = new TransactionStarts(app);
        var demotions = new[]
        {
            Task.Run(() => Outcome(first.Teams.ChangeRoleAsync(s.OwnerId, s.TeamId, s.EditorId, TeamRole.Viewer))),
            Task.Run(() => Outcome(second.Teams.ChangeRoleAsync(s.EditorId, s.TeamId, s.OwnerId, TeamRole.Viewer))),
        };
        // Both requests have made every read they make before writing and now wait for the lock (or are about to): SQLite's
        // BEGIN waits for the write lock. PostgreSQL's does not, so there: until two of the app's sessions wait for a lock.
        if (app.Provider == DatabaseProvider.Postgres)
            await blocker.WaitForWaitingSessionsAsync(app, 2, TimeSpan.FromSeconds(20));
        else
            await transactions.WaitForAsync(2, TimeSpan.FromSeconds(20));
        await blocker.ReleaseAsync();
        var outcomes = await Task.WhenAll(demotions);

        // The loser was either demoted first (no longer an owner) or saw that it would leave no owner.
        Assert.Single(outcomes, o => o == "ok");
        Assert.Contains(outcomes.Single(o => o != "ok"), new[] { nameof(ForbiddenException), nameof(RuleViolationException) });
        var team = await _services.Teams.GetAsync(s.ViewerId, s.TeamId);
        Assert.Single(team!.Members, m => m.Role == TeamRole.Owner);

        static async Task<string> Outcome(Task change)
        {
            try { await change; return "ok"; }
            catch (Exception e) { return e.GetType().Name; }
        }
    }

    /// <summary>A second connection, outside the app, holding locks that make the app's writes wait.</summary>
    private sealed class WriteBlocker(DbConnection connection) : IAsyncDisposable
    {
        public static async Task<WriteBlocker> HoldAsync(WebAppFactory app, int teamId)
        {
            DbConnection connection = app.Provider == DatabaseProvider.Postgres
                ? new NpgsqlConnection(app.ConnectionString + ";Pooling=false")
                : new SqliteConnection($"Data Source={app.DatabaseFile};Pooling=False");
            await connection.OpenAsync();
            var blocker = new WriteBlocker(connection);
            await blocker.ExecuteAsync(app.Provider == DatabaseProvider.Postgres
                ? $"BEGIN; SELECT 1 FROM \"TeamMembers\" WHERE \"TeamId\" = {teamId} FOR UPDATE;"
                : "BEGIN IMMEDIATE;");
            return blocker;
        }

        public Task ReleaseAsync() => ExecuteAsync("COMMIT;");

        /// <summary>PostgreSQL: waits until <paramref name="count"/> sessions on the app's database wait for a lock.</summary>
        public async Task WaitForWaitingSessionsAsync(WebAppFactory app, int count, TimeSpan timeout)
        {
            await using var monitor = new NpgsqlConnection(app.ConnectionString + ";Pooling=false");
            await monitor.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", monitor);
            var clock = Stopwatch.StartNew();
            long waiting;
            while ((waiting = (long)(await command.ExecuteScalarAsync())!) < count)
            {
                Assert.True(clock.Elapsed < timeout, $"{waiting} of {count} sessions waited for a lock within {timeout}");
                await Task.Delay(10);
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();

        private async Task ExecuteAsync(string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Counts the transactions EF Core begins on the app's database: its TransactionStarting event, raised just
    /// before SQLite's BEGIN (which waits while another connection holds the write lock) or PostgreSQL's.</summary>
    private sealed class TransactionStarts : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
    {
        private readonly WebAppFactory _app;
        private readonly List<IDisposable> _subscriptions = [];
        private readonly IDisposable _listeners;
        private int _count;

        public TransactionStarts(WebAppFactory app)
        {
            _app = app;
            _listeners = DiagnosticListener.AllListeners.Subscribe(this);
        }

        public async Task WaitForAsync(int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (Volatile.Read(ref _count) < count)
            {
                Assert.True(clock.Elapsed < timeout, $"{Volatile.Read(ref _count)} of {count} transactions began within {timeout}");
                await Task.Delay(10);
            }
        }

        void IObserver<DiagnosticListener>.OnNext(DiagnosticListener listener)
        {
            if (listener.Name != DbLoggerCategory.Name) return;
            lock (_subscriptions) _subscriptions.Add(listener.Subscribe(this, name => name == RelationalEventId.TransactionStarting.Name));
        }

        void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> e)
        {
            if (e.Value is DbContextEventData { Context: { } context } && IsTheAppsDatabase(context.Database.GetDbConnection()))
                Interlocked.Increment(ref _count);
        }

        private bool IsTheAppsDatabase(DbConnection connection) => _app.Provider == DatabaseProvider.Postgres
            ? connection.Database == new NpgsqlConnectionStringBuilder(_app.ConnectionString).Database
            : connection.DataSource is { Length: > 0 } source && Path.GetFullPath(source) == Path.GetFullPath(_app.DatabaseFile);

        void IObserver<DiagnosticListener>.OnCompleted() { }
        void IObserver<DiagnosticListener>.OnError(Exception error) { }
        void IObserver<KeyValuePair<string, object?>>.OnCompleted() { }
        void IObserver<KeyValuePair<string, object?>>.OnError(Exception error) { }

        public void Dispose()
        {
            _listeners.Dispose();
            lock (_subscriptions) foreach (var subscription in _subscriptions) subscription.Dispose();
        }
    }

    [Fact]
    public async Task AViewerCannotChangeMembers()
    {
        var s = await TeamScenario.CreateAsync(app);
        await app.CreateUserAsync($"hopeful-{s.Tag}@example.com");

        await AssertMemberChangesRefused<ForbiddenException>(s, s.ViewerId);
    }

    [Fact]
    public async Task AnEditorCannotChangeMembers()
    {
        var s = await TeamScenario.CreateAsync(app);
        await app.CreateUserAsync($"hopeful-{s.Tag}@example.com");

        await AssertMemberChangesRefused<ForbiddenException>(s, s.EditorId);
    }

    [Fact]
    public async Task AnOutsiderCannotChangeMembersAndIsToldTheTeamDoesNotExist()
    {
        var s = await TeamScenario.CreateAsync(app);
        await app.CreateUserAsync($"hopeful-{s.Tag}@example.com");

        await AssertMemberChangesRefused<NotFoundException>(s, s.OutsiderId);
    }

    [Fact]
    public async Task AnOutsiderSeesATeamExactlyAsIfItDidNotExist()
    {
        var s = await TeamScenario.CreateAsync(app);
        const int missingTeamId = int.MaxValue;

        Assert.Null(await _services.Teams.GetAsync(s.OutsiderId, s.TeamId));
        Assert.Null(await _services.Teams.GetAsync(s.OutsiderId, missingTeamId));
        Assert.Equal([s.OutsiderTeamId], (await _services.Teams.ListAsync(s.OutsiderId)).Select(t => t.Id));

        var hidden = await Assert.ThrowsAsync<NotFoundException>(() =>
            _services.Teams.AddMemberAsync(s.OutsiderId, s.TeamId, s.Email("outsider"), TeamRole.Owner));
        var missing = await Assert.ThrowsAsync<NotFoundException>(() =>
            _services.Teams.AddMemberAsync(s.OutsiderId, missingTeamId, s.Email("outsider"), TeamRole.Owner));
        Assert.Equal(missing.Message, hidden.Message);
    }

    [Fact]
    public async Task EveryMemberSeesTheTeamWithTheirOwnRole()
    {
        var s = await TeamScenario.CreateAsync(app);

        foreach (var (userId, role) in new[] { (s.OwnerId, TeamRole.Owner), (s.EditorId, TeamRole.Editor), (s.ViewerId, TeamRole.Viewer) })
        {
            var summary = Assert.Single(await _services.Teams.ListAsync(userId));
            Assert.Equal((s.TeamId, role, 3, 1), (summary.Id, summary.MyRole, summary.MemberCount, summary.ProjectCount));
            Assert.Equal(role, (await _services.Teams.GetAsync(userId, s.TeamId))!.MyRole);
        }
    }

    private async Task AssertMemberChangesRefused<TException>(TeamScenario s, string callerId) where TException : FeatureException
    {
        await Assert.ThrowsAsync<TException>(() =>
            _services.Teams.AddMemberAsync(callerId, s.TeamId, $"hopeful-{s.Tag}@example.com", TeamRole.Viewer));
        await Assert.ThrowsAsync<TException>(() =>
            _services.Teams.ChangeRoleAsync(callerId, s.TeamId, s.ViewerId, TeamRole.Owner));
        await Assert.ThrowsAsync<TException>(() =>
            _services.Teams.ChangeRoleAsync(callerId, s.TeamId, callerId, TeamRole.Owner));
        await Assert.ThrowsAsync<TException>(() =>
            _services.Teams.RemoveMemberAsync(callerId, s.TeamId, s.OwnerId));

        var team = await _services.Teams.GetAsync(s.OwnerId, s.TeamId);
        Assert.Equal(
            [(s.OwnerId, TeamRole.Owner), (s.EditorId, TeamRole.Editor), (s.ViewerId, TeamRole.Viewer)],
            team!.Members.Select(m => (m.UserId, m.Role)));
    }

    private async Task<TeamRole?> RoleOfAsync(TeamScenario s, string userId, string? asUser = null)
    {
        var team = await _services.Teams.GetAsync(asUser ?? s.OwnerId, s.TeamId);
        return team!.Members.FirstOrDefault(m => m.UserId == userId)?.Role;
    }
}
