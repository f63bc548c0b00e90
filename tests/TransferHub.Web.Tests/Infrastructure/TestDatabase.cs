using TransferHub.Testing;
using TransferHub.Web.Data;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>Which database the web tests run the app on: SQLite files (the default) or, with
/// <c>TRANSFERHUB_TEST_DATABASE=postgres</c>, databases on a real PostgreSQL server that the tests start themselves
/// (<see cref="PostgresServer.Shared"/>). <c>./test.sh</c> runs this project once each way.</summary>
public static class TestDatabase
{
    public const string Variable = "TRANSFERHUB_TEST_DATABASE";

    /// <summary>The provider named by <see cref="Variable"/>.</summary>
    /// <exception cref="InvalidOperationException">The variable names neither sqlite nor postgres.</exception>
    public static DatabaseProvider Provider { get; } = Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "sqlite" => DatabaseProvider.Sqlite,
        "postgres" or "postgresql" => DatabaseProvider.Postgres,
        var other => throw new InvalidOperationException($"{Variable} is \"{other}\"; it must be sqlite or postgres."),
    };

    public static bool IsPostgres => Provider == DatabaseProvider.Postgres;
}

/// <summary>A fact about SQLite itself (its files, pragmas, locking, the SQLite migrations' data changes): skipped in the
/// PostgreSQL pass, where the app is not on SQLite.</summary>
public sealed class SqliteFactAttribute : FactAttribute
{
    public SqliteFactAttribute()
    {
        if (TestDatabase.IsPostgres)
            Skip = $"About SQLite; this pass runs the app on PostgreSQL ({TestDatabase.Variable}=postgres).";
    }
}

/// <summary>A fact about PostgreSQL that needs a server: runs in the PostgreSQL pass only.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!TestDatabase.IsPostgres)
            Skip = $"Needs the app on PostgreSQL: run with {TestDatabase.Variable}=postgres (./test.sh does when PostgreSQL is installed).";
    }
}
