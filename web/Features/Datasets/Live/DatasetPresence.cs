namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Someone looking at a dataset page.</summary>
public sealed record DatasetViewer(string UserId, string Name);

/// <summary>
/// Who has which dataset page open, kept in memory (a singleton) per dataset and <see cref="ClientSession"/> (tab):
/// a page joins when it goes live and leaves when disposed; a tab whose connection drops is hidden until it
/// reconnects (<see cref="PresenceCircuitHandler"/>), so a closed tab disappears at once rather than when its circuit
/// expires. A user with two tabs open is one viewer.
/// </summary>
public sealed class DatasetPresence(ILogger<DatasetPresence> logger)
{
    private sealed record Visit(string UserId, string Name, bool Connected);

    private readonly Lock _lock = new();
    private readonly Dictionary<int, Dictionary<Guid, Visit>> _visits = [];
    private readonly Dictionary<int, List<Func<Task>>> _watchers = [];

    /// <summary>The session's tab shows the dataset; disposing the result leaves.</summary>
    public IDisposable Join(int datasetId, Guid session, string userId, string name)
    {
        Change(datasetId, visits => visits[session] = new Visit(userId, name, true));
        return new Handle(() => Leave(datasetId, session));
    }

    public void Leave(int datasetId, Guid session) => Change(datasetId, visits => visits.Remove(session));

    /// <summary>The session's connection dropped (false) or came back (true), whatever dataset it shows.</summary>
    public void SetConnected(Guid session, bool connected)
    {
        int[] datasets;
        lock (_lock) datasets = [.. _visits.Where(d => d.Value.ContainsKey(session)).Select(d => d.Key)];
        foreach (var datasetId in datasets)
            Change(datasetId, visits =>
            {
                if (visits.TryGetValue(session, out var visit)) visits[session] = visit with { Connected = connected };
            });
    }

    /// <summary>Everyone viewing the dataset now, once per user, by name.</summary>
    public IReadOnlyList<DatasetViewer> ViewersOf(int datasetId)
    {
        lock (_lock)
            return _visits.TryGetValue(datasetId, out var visits)
                ? [.. visits.Values.Where(v => v.Connected).DistinctBy(v => v.UserId).OrderBy(v => v.Name, StringComparer.OrdinalIgnoreCase)
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
            logger.LogWarning(e, "A presence watcher of dataset {DatasetId} failed", datasetId);
        }
    }

    private sealed class Handle(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
