using System.Text.Json;
using System.Threading.Channels;
using Npgsql;

namespace TransferHub.Web.Features.Instances;

/// <summary>
/// <see cref="ILiveBus"/> over PostgreSQL's <c>LISTEN</c>/<c>NOTIFY</c> (ADR 035), for <c>Database:Provider = Postgres</c>.
/// One dedicated connection per instance listens on the channel <see cref="Channel"/> (<c>LISTEN</c>, then
/// <see cref="NpgsqlConnection.WaitAsync(CancellationToken)"/> in a loop, notifications arriving through
/// <see cref="NpgsqlConnection.Notification"/>); when it breaks it reconnects after 0.25 s, doubling to at most 10 s.
/// Publishing queues the event; one sender calls <c>pg_notify</c> on a pooled connection, in order. NOTIFY reaches only
/// sessions of the same database, so two apps on two databases of one server never hear each other.
/// </summary>
public sealed class PostgresLiveBus(string connectionString, ILogger<PostgresLiveBus> logger) : BackgroundService, ILiveBus
{
    /// <summary>The PostgreSQL notification channel.</summary>
    public const string Channel = "transferhub_live";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250), LastRetry = TimeSpan.FromSeconds(10);

    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly Channel<string> _outbox = System.Threading.Channels.Channel.CreateUnbounded<string>(new() { SingleReader = true });
    private readonly Channel<Envelope> _inbox = System.Threading.Channels.Channel.CreateUnbounded<Envelope>(new() { SingleReader = true });
    private readonly KeyedHandlers<string, string> _listeners = new(logger);
    private int _unsent;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Envelope(Guid Instance, string Topic, string Payload);

    public Guid InstanceId { get; } = Guid.NewGuid();

    /// <summary>Completes once the listening connection has run <c>LISTEN</c> for the first time (tests, start-up).</summary>
    public Task Listening => _listening.Task;

    public void Publish(string topic, string payload)
    {
        if (payload.Length > LiveBusLimits.MaxPayloadChars)
            throw new ArgumentException($"A live event may carry at most {LiveBusLimits.MaxPayloadChars} characters; this one has {payload.Length}.", nameof(payload));
        Interlocked.Increment(ref _unsent);
        if (!_outbox.Writer.TryWrite(JsonSerializer.Serialize(new Envelope(InstanceId, topic, payload))))
            Interlocked.Decrement(ref _unsent);
    }

    /// <inheritdoc />
    /// <remarks>A listener of <see cref="LiveBusLimits.Connected"/> that comes after the connection is told at once.</remarks>
    public IDisposable Listen(string topic, Action<string> handler)
    {
        var subscription = _listeners.Subscribe(topic, payload =>
        {
            handler(payload);
            return Task.CompletedTask;
        });
        if (topic == LiveBusLimits.Connected && _listening.Task.IsCompleted)
            _ = Task.Run(() => handler(""));
        return subscription;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ListenAsync(stoppingToken), SendAsync(stoppingToken), DeliverAsync(stoppingToken));

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Receive(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                _listening.TrySetResult();
                _inbox.Writer.TryWrite(new Envelope(InstanceId, LiveBusLimits.Connected, ""));
                logger.LogInformation("Listening for other web instances' live events (PostgreSQL channel {Channel}, instance {Instance})", Channel, InstanceId);
                retry = FirstRetry;
                while (true)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "The live-event connection to PostgreSQL broke; reconnecting in {Delay} ms", retry.TotalMilliseconds);
                try { await Task.Delay(retry, stoppingToken); } catch (OperationCanceledException) { return; }
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
            }
        }
    }

    private void Receive(string json)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize<Envelope>(json);
            if (envelope is not null && envelope.Instance != InstanceId && envelope.Topic != LiveBusLimits.Connected)
                _inbox.Writer.TryWrite(envelope);
        }
        catch (JsonException e)
        {
            logger.LogWarning(e, "Ignored a malformed live event on {Channel}", Channel);
        }
    }

    // Handlers are called off the connection's thread, so a slow one never delays reading notifications.
    private async Task DeliverAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var envelope in _inbox.Reader.ReadAllAsync(stoppingToken))
                _listeners.Publish(envelope.Topic, envelope.Payload);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in _outbox.Reader.ReadAllAsync(stoppingToken))
            {
                await SendOneAsync(message, stoppingToken);
                Interlocked.Decrement(ref _unsent);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendOneAsync(string message, CancellationToken stoppingToken)
    {
        var retry = FirstRetry;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var command = _dataSource.CreateCommand("SELECT pg_notify(@channel, @payload)");
                command.Parameters.AddWithValue("channel", Channel);
                command.Parameters.AddWithValue("payload", message);
                await command.ExecuteNonQueryAsync(stoppingToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && attempt < 4 && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Could not send a live event to the other instances (attempt {Attempt}); retrying", attempt);
                await Task.Delay(retry, stoppingToken);
                retry *= 2;
            }
            catch (Exception e) when (e is not OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Dropped a live event for the other instances: PostgreSQL refused it");
                return;
            }
        }
    }

    /// <summary>Sends what is still queued (for at most 2 s: an instance's "goodbye" is among it), then stops.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (Volatile.Read(ref _unsent) > 0 && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            await Task.Delay(20, CancellationToken.None);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        base.Dispose();
        _dataSource.Dispose();
    }
}
