namespace TransferHub.Web.Features;

/// <summary>
/// Handlers of live updates keyed by what they follow (a dataset, a run, a project, an operation): the one mechanism
/// behind <see cref="Datasets.Live.DatasetEvents"/>, <see cref="Jobs.JobNotifier"/> and
/// <see cref="Datasets.Work.DatasetWork"/>. Thread-safe; handlers are called without being awaited, so a slow or broken
/// page (a closed circuit) never delays the publisher or the other pages.
/// </summary>
public sealed class KeyedHandlers<TKey, TUpdate>(ILogger logger) where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, List<Func<TUpdate, Task>>> _handlers = [];

    /// <summary>Calls <paramref name="handler"/> for every update published for <paramref name="key"/> until the result is disposed.</summary>
    public IDisposable Subscribe(TKey key, Func<TUpdate, Task> handler)
    {
        lock (_lock)
        {
            if (!_handlers.TryGetValue(key, out var list)) _handlers[key] = list = [];
            list.Add(handler);
        }
        return new Subscription(() =>
        {
            lock (_lock)
            {
                if (_handlers.TryGetValue(key, out var list) && list.Remove(handler) && list.Count == 0)
                    _handlers.Remove(key);
            }
        });
    }

    /// <summary>How many handlers follow <paramref name="key"/> (tests and diagnostics).</summary>
    public int Count(TKey key)
    {
        lock (_lock) return _handlers.TryGetValue(key, out var list) ? list.Count : 0;
    }

    /// <summary>Whether anyone follows anything (lets a publisher skip work that only subscribers need).</summary>
    public bool Any
    {
        get { lock (_lock) return _handlers.Count > 0; }
    }

    /// <summary>Tells every handler of <paramref name="key"/>; each failure is logged and goes no further.</summary>
    public void Publish(TKey key, TUpdate update)
    {
        Func<TUpdate, Task>[] handlers;
        lock (_lock) handlers = _handlers.TryGetValue(key, out var list) ? [.. list] : [];
        foreach (var handler in handlers) _ = CallAsync(handler, key, update);
    }

    private async Task CallAsync(Func<TUpdate, Task> handler, TKey key, TUpdate update)
    {
        try
        {
            await handler(update);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "A subscriber of {Key} failed on {Update}", key, update);
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
