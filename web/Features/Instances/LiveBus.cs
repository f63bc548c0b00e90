namespace TransferHub.Web.Features.Instances;

/// <summary>
/// Carries the app's own live events (a dataset changed, a run changed, someone opened a dataset) between the web
/// instances that share one database (ADR 035). Each notifier tells its own instance's subscribers itself and hands the
/// same event to the bus for the others; the bus delivers to a <see cref="Listen"/>er only events published by
/// <em>another</em> instance, so nothing reaches a subscriber twice. Payloads are small JSON documents (ids, a kind and
/// a short phrase): pages reload what they show from the database. Delivery is best effort, as for a page that is
/// reconnecting: an event published while an instance's listening connection is down is not replayed.
/// </summary>
public interface ILiveBus
{
    /// <summary>This instance's id (a new one per process).</summary>
    Guid InstanceId { get; }

    /// <summary>Sends <paramref name="payload"/> (JSON, at most <see cref="LiveBusLimits.MaxPayloadChars"/> characters)
    /// on <paramref name="topic"/> to every other instance. Never blocks and never throws for a delivery failure (it is
    /// logged); an oversized payload throws <see cref="ArgumentException"/>.</summary>
    void Publish(string topic, string payload);

    /// <summary>Calls <paramref name="handler"/> with the payload of every event other instances publish on
    /// <paramref name="topic"/>, until the result is disposed. Handlers run one at a time, in arrival order; a failure is
    /// logged and goes no further.</summary>
    IDisposable Listen(string topic, Action<string> handler);
}

public static class LiveBusLimits
{
    /// <summary>A topic the bus itself raises, on this instance only, each time it (re)connects to the others (and once
    /// for a listener that comes later): events may have been missed meanwhile, so state kept per instance (presence)
    /// asks the others again.</summary>
    public const string Connected = "$connected";

    /// <summary>PostgreSQL's NOTIFY payload must stay under 8,000 bytes; the envelope (topic, instance id) takes ~100,
    /// and a character may take up to 3 bytes in UTF-8 for the text parts.</summary>
    public const int MaxPayloadChars = 2_500;
}

/// <summary>The bus of one web process on SQLite (the default): there is no other instance, so publishing does nothing
/// and listeners are never called; every notifier's in-process delivery is all there is (ADR 008's behaviour).</summary>
public sealed class InProcessLiveBus : ILiveBus
{
    public Guid InstanceId { get; } = Guid.NewGuid();

    public void Publish(string topic, string payload)
    {
        if (payload.Length > LiveBusLimits.MaxPayloadChars)
            throw new ArgumentException($"A live event may carry at most {LiveBusLimits.MaxPayloadChars} characters; this one has {payload.Length}.", nameof(payload));
    }

    public IDisposable Listen(string topic, Action<string> handler) => new Nothing();

    private sealed class Nothing : IDisposable
    {
        public void Dispose() { }
    }
}
