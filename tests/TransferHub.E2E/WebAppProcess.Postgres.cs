using TransferHub.Testing;

namespace TransferHub.E2E;

public sealed partial class WebAppProcess
{
    /// <summary><c>TRANSFERHUB_TEST_DATABASE=postgres</c> (test.sh's PostgreSQL pass): each web app process gets its own
    /// database on the test process's PostgreSQL server (<see cref="PostgresServer.Shared"/>, stopped when the tests end).</summary>
    static partial void UsePostgres(ref string? connectionString)
    {
        if (Environment.GetEnvironmentVariable("TRANSFERHUB_TEST_DATABASE") != "postgres") return;
        var server = PostgresServer.Shared;
        connectionString = server.ConnectionString(server.CreateDatabase("transferhub_e2e"));
    }
}
