using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace TransferHub.Web.Data;

/// <summary>Puts every SQLite connection in WAL mode (EF only does that for files it creates itself; a file made
/// by hand or restored from a backup would otherwise stay in rollback-journal mode) (readers never block the writer, and the writer never blocks
/// readers: a Blazor Server app reads on many circuits while an import writes) with NORMAL sync, which is
/// durable across application crashes in WAL mode. Read-only connections (EF opens one to ask whether the file
/// exists) are left alone: switching the journal mode is a write.</summary>
public sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    private const string Pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (IsReadOnly(connection))
            return;
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        if (IsReadOnly(connection))
            return;
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static bool IsReadOnly(DbConnection connection) =>
        new SqliteConnectionStringBuilder(connection.ConnectionString).Mode == SqliteOpenMode.ReadOnly;
}
