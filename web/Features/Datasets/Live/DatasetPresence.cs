using System.Text.Json;
using TransferHub.Web.Features.Instances;

namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Someone looking at a dataset page.</summary>
public sealed record DatasetViewer(string UserId, string Name);

/// <summary>
/// Who has which dataset page open, kept in memory (a singleton) per dataset and <see cref="ClientSession"/> (tab):
/// a page joins when it goes live and leaves when disposed; a tab whose connection drops is hidden until it
/// reconnects (<see cref="PresenceCircuitHandler"/>), so a closed tab disappears at once rather than when its circuit
/// expires. A user with two tabs open is one viewer.
/// <para>Several web instances (ADR 035): every change to this instance's own visits is sent over the
/// <see cref="ILiveBus"/> and applied by the others to their copy; an instance that (re)connects says hello and the others
/// announce their visits again; one that stops says goodbye and its visits go. Each instance also announces itself every
/// <see cref="Heartbeat"/>; the visits of an instance not heard from for <see cref="Silence"/> (it crashed) are
/// hidden.</para>
/// </summary>
public sealed class DatasetPresence : IDisposable
{
    /// <summary>The bus topic of presence.</summary>
    public const string Topic = "presence";

    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(65);

    private sealed record Visit(string UserId, string Name, bool Connected, Guid Instance);

    /// <summary>What goes over the bus: <c>Op</c> is set, leave, hello, alive or bye.</summary>
    private sealed record Message(string Op, Guid Instance, int DatasetId = 0, Guid Session = default, string? UserId = null, string? Name = null, bool Connected = false);

    private readonly ILiveBus _bus;
    private readonly TimeProvider _clock;
    private readonly ILogger<DatasetPresence> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Dictionary<Guid, Visit>> _visits = [];
    private readonly Dictionary<int, List<Func<Task>>> _watchers = [];
    private readonly Dictionary<Guid, DateTimeOffset> _heardFrom = [];
    private readonly IDisposable _listening, _connected;
    private readonly ITimer? _heartbeat;

    public DatasetPresence(ILiveBus bus, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<DatasetPresence> logger)
    {
        (_bus, _clock, _logger) = (bus, clock, logger);
        _listening = bus.Listen(Topic, Receive);
        _connected = bus.Listen(LiveBusLimits.Connected, _ => Send(new Message("hello", bus.InstanceId)));
        if (bus is not InProcessLiveBus)
        {
            _heartbeat = clock.CreateTimer(_ => Beat(), null, Heartbeat, Heartbeat);
            lifetime.ApplicationStopping.Register(() => Send(new Message("bye", bus.InstanceId)));
        }
    }

    /// <summary>The session's tab shows the dataset; disposing the result leaves.</summary>
    public IDisposable Join(int datasetId, Guid session, string userId, string name)
    {
        Change(datasetId, visits => visits[session] = new Visit(userId, name, true, _bus.InstanceId));
        Send(new Message("set", _bus.InstanceId, datasetId, session, userId, Cut(name), true));
        return new Handle(() => Leave(datasetId, session));
    }

    public void Leave(int datasetId, Guid session)
    {
        Change(datasetId, visits => visits.Remove(session));
        Send(new Message("leave", _bus.InstanceId, datasetId, session));
    }

    /// <summary>The session's connection dropped (false) or came back (true), whatever dataset it shows.</summary>
    public void SetConnected(Guid session, bool connected)
    {
        int[] datasets;
        lock (_lock) datasets = [.. _visits.Where(d => d.Value.ContainsKey(session)).Select(d => d.Key)];
        foreach (var datasetId in datasets)
        {
            Visit? changed = null;
            Change(datasetId, visits =>
            {
                if (visits.TryGetValue(session, out var visit)) visits[session] = changed = visit with { Connected = connected };
            });
            if (changed is { } v && v.Instance == _bus.InstanceId)
                Send(new Message("set", _bus.InstanceId, datasetId, session, v.UserId, Cut(v.Name), connected));
        }
    }

    /// <summary>Everyone viewing the dataset now (on any instance that is alive), once per user, by name.</summary>
    public IReadOnlyList<DatasetViewer> ViewersOf(int datasetId)
    {
        var silentSince = _clock.GetUtcNow() - Silence;
        lock (_lock)
            return _visits.TryGetValue(datasetId, out var visits)
                ? [.. visits.Values.Where(v => v.Connected && (v.Instance == _bus.InstanceId || _heardFrom.GetValueOrDefault(v.Instance) > silentSince))
                    .DistinctBy(v => v.UserId).OrderBy(v => v.Name, StringComparer.OrdinalIgnoreCase)
                    .Select(v => new DatasetViewer(v.UserId, v.Name))]
                : [];
    }

    /// <summary>Calls <paramref name="changed"/> whenever the dataset's viewers may have changed, until disposed.</summary>
    public IDisposable Watch(int datasetId, Func<Task> changed)
    {
        lock (_lock)
        {
            if (!_watchers.TryGetValue(datasetId, out var list)) _watchers[datasetId] = list = [];
            list.Add(changed);
        }
        return new Handle(() =>
        {
            lock (_lock)
            {
                if (_watchers.TryGetValue(datasetId, out var list) && list.Remove(changed) && list.Count == 0)
                    _watchers.Remove(datasetId);
            }
        });
    }

    private static string Cut(string name) => name.Length > 256 ? name[..256] : name;

    private void Send(Message message) => _bus.Publish(Topic, JsonSerializer.Serialize(message));

    private void Receive(string payload)
    {
        Message? message;
        try { message = JsonSerializer.Deserialize<Message>(payload); }
        catch (JsonException e)
        {
            _logger.LogWarning(e, "Ignored a malformed presence message from another instance");
            return;
        }
        if (message is null) return;
        bool wasSilent;
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            wasSilent = !(_heardFrom.GetValueOrDefault(message.Instance) > now - Silence);
            _heardFrom[message.Instance] = now;
        }
        switch (message.Op)
        {
            case "set" when message.UserId is { } userId:
                Change(message.DatasetId, visits => visits[message.Session] = new Visit(userId, message.Name ?? "Someone", message.Connected, message.Instance));
                break;
            case "leave":
                Change(message.DatasetId, visits => visits.Remove(message.Session));
                break;
            case "hello":
                AnnounceAll();
                break;
            case "bye":
                Forget(message.Instance);
                break;
            case "alive" when wasSilent:
                // Back after a silence: its visits, hidden meanwhile, show again.
                NotifyDatasetsOf(message.Instance);
                break;
        }
    }

    private void AnnounceAll()
    {
        List<Message> mine;
        lock (_lock)
            mine = [.. _visits.SelectMany(d => d.Value.Where(v => v.Value.Instance == _bus.InstanceId)
                .Select(v => new Message("set", _bus.InstanceId, d.Key, v.Key, v.Value.UserId, Cut(v.Value.Name), v.Value.Connected)))];
        foreach (var message in mine) Send(message);
    }

    private void Forget(Guid instance)
    {
        int[] datasets;
        lock (_lock)
        {
            _heardFrom.Remove(instance);
            datasets = [.. _visits.Where(d => d.Value.Values.Any(v => v.Instance == instance)).Select(d => d.Key)];
        }
        foreach (var datasetId in datasets)
            Change(datasetId, visits =>
            {
                foreach (var session in visits.Where(v => v.Value.Instance == instance).Select(v => v.Key).ToList()) visits.Remove(session);
            });
    }

    private void Beat()
    {
        Send(new Message("alive", _bus.InstanceId));
        // Pages showing the visits of an instance that just fell silent are told to look again.
        var now = _clock.GetUtcNow();
        Guid[] silent;
        lock (_lock) silent = [.. _heardFrom.Where(h => h.Value <= now - Silence && h.Value > now - Silence - Heartbeat).Select(h => h.Key)];
        foreach (var instance in silent) NotifyDatasetsOf(instance);
    }

    private void NotifyDatasetsOf(Guid instance)
    {
        int[] datasets;
        lock (_lock) datasets = [.. _visits.Where(d => d.Value.Values.Any(v => v.Instance == instance)).Select(d => d.Key)];
        foreach (var datasetId in datasets) Change(datasetId, _ => { });
    }

    private void Change(int datasetId, Action<Dictionary<Guid, Visit>> change)
    {
        Func<Task>[] watchers;
        lock (_lock)
        {
            if (!_visits.TryGetValue(datasetId, out var visits)) _visits[datasetId] = visits = [];
            change(visits);
            if (visits.Count == 0) _visits.Remove(datasetId);
            watchers = _watchers.TryGetValue(datasetId, out var list) ? [.. list] : [];
        }
        foreach (var watcher in watchers)
            _ = NotifyAsync(watcher, datasetId);
    }

    private async Task NotifyAsync(Func<Task> watcher, int datasetId)
    {
        try
        {
            await watcher();
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A presence watcher of dataset {DatasetId} failed", datasetId);
        }
    }

    public void Dispose()
    {
        _heartbeat?.Dispose();
        _listening.Dispose();
        _connected.Dispose();
    }

    private sealed class Handle(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
