using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace TransferHub.Testing;

/// <summary>
/// A real PostgreSQL server for tests, started from the installed binaries (Debian's <c>postgresql</c> package:
/// <c>/usr/lib/postgresql/&lt;version&gt;/bin</c>, or the folder in <c>TRANSFERHUB_PG_BIN</c>): <c>initdb</c> into a new
/// temporary folder, <c>pg_ctl start</c> on a free loopback TCP port (its unix socket in that folder too), trust
/// authentication for the <c>postgres</c> superuser, durability off (fsync, synchronous_commit, full_page_writes: a
/// test database need not survive a power cut), UTF-8 with the C.UTF-8 locale (text sorts by code point, as SQLite's
/// BINARY collation does). <see cref="Dispose"/> stops it (<c>pg_ctl stop -m immediate</c>) and deletes the folder.
/// PostgreSQL refuses to run as root, so as root the binaries run as the <c>postgres</c> account (<c>runuser</c>).
/// <para><see cref="Shared"/> is one server for the whole test process (started on first use, stopped when the process
/// exits); each user takes its own database from it (<see cref="CreateDatabase"/>, <see cref="DropDatabase"/>).</para>
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<PostgresServer> s_shared = new(() =>
    {
        var server = Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _binaries;
    private readonly string _folder;
    private readonly bool _asPostgresUser;
    private int _disposed;

    private PostgresServer(string binaries, string folder, int port, bool asPostgresUser)
    {
        _binaries = binaries;
        _folder = folder;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The server shared by every test of this process; started on first use.</summary>
    /// <exception cref="InvalidOperationException">No PostgreSQL binaries are installed, or the server did not start (the
    /// message carries its log).</exception>
    public static PostgresServer Shared => s_shared.Value;

    /// <summary>The loopback TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The folder holding PostgreSQL's <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c>; null when none is
    /// installed. <c>TRANSFERHUB_PG_BIN</c> wins; then the newest <c>/usr/lib/postgresql/*/bin</c>; then the PATH.</summary>
    public static string? FindBinaries()
    {
        static bool Complete(string folder) =>
            File.Exists(Path.Combine(folder, "initdb")) && File.Exists(Path.Combine(folder, "pg_ctl")) && File.Exists(Path.Combine(folder, "postgres"));

        if (Environment.GetEnvironmentVariable("TRANSFERHUB_PG_BIN") is { Length: > 0 } configured)
            return Complete(configured) ? configured : null;
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
                .Where(d => d.Version >= 0 && Complete(d.Bin)).OrderByDescending(d => d.Version).FirstOrDefault();
            if (newest.Bin is not null)
                return newest.Bin;
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(Complete);
    }

    /// <summary>Starts a new server (a caller that is not <see cref="Shared"/> disposes it).</summary>
    public static PostgresServer Start()
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            "No PostgreSQL server is installed (initdb, pg_ctl, postgres): `apt-get install postgresql`, or set TRANSFERHUB_PG_BIN to its bin folder.");
        var asPostgresUser = Environment.UserName == "root";
        var parent = Path.Combine(Path.GetTempPath(), "transferhub-postgres");
        DeleteLeftovers(parent);
        var folder = Path.Combine(parent, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        if (asPostgresUser)
            Run("chown", ["postgres:postgres", folder], asPostgresUser: false);
        var data = Path.Combine(folder, "data");
        Run(Path.Combine(binaries, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], asPostgresUser);

        // A port found free can be taken before the server binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var server = new PostgresServer(binaries, folder, port, asPostgresUser);
            try
            {
                Run(Path.Combine(binaries, "pg_ctl"), ["-D", data, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "-o",
                    $"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off " +
                    "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB", "start"], asPostgresUser);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
            catch (InvalidOperationException e)
            {
                var log = File.Exists(Path.Combine(folder, "server.log")) ? File.ReadAllText(Path.Combine(folder, "server.log")) : "(no log)";
                throw new InvalidOperationException($"{e.Message}\nServer log:\n{log}", e);
            }
        }
    }

    /// <summary>A connection string for <paramref name="database"/> as the <c>postgres</c> superuser over TCP.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Database = database, Username = "postgres", Timeout = 30, CommandTimeout = 60,
    }.ConnectionString;

    /// <summary>Creates an empty database with a new unique name starting with <paramref name="prefix"/> (lower case
    /// letters, digits, underscores) and returns its name.</summary>
    public string CreateDatabase(string prefix = "transferhub_test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        Execute($"CREATE DATABASE \"{name}\"");
        return name;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabase"/>, closing whatever is still connected to it.</summary>
    public void DropDatabase(string name)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return;
        using (var connection = new NpgsqlConnection(ConnectionString(name)))
            NpgsqlConnection.ClearPool(connection);
        Execute($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    }

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false");
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        NpgsqlConnection.ClearAllPools();
        try
        {
            Run(Path.Combine(_binaries, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"], _asPostgresUser);
        }
        catch (InvalidOperationException)
        {
            // Already stopped (or never started): the folder goes either way.
        }
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Deletes the folders of servers that are no longer running (no <c>postmaster.pid</c>) and were made more
    /// than a minute ago: a test host that is killed at the end of a run may not get to delete its own.</summary>
    private static void DeleteLeftovers(string parent)
    {
        if (!Directory.Exists(parent))
            return;
        foreach (var folder in Directory.GetDirectories(parent))
        {
            if (File.Exists(Path.Combine(folder, "data", "postmaster.pid")) || Directory.GetCreationTimeUtc(folder) > DateTime.UtcNow.AddMinutes(-1))
                continue;
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Run(string program, IReadOnlyList<string> arguments, bool asPostgresUser)
    {
        var start = new ProcessStartInfo(asPostgresUser ? "runuser" : program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (asPostgresUser)
            foreach (var prefix in new[] { "-u", "postgres", "--", program }) start.ArgumentList.Add(prefix);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish within 120 s.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}{output.Result}");
    }
}
