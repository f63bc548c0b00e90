using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Instances;

namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>A change someone made to a dataset: <see cref="What"/> is a past-tense phrase ("relabelled 3 images as cat").</summary>
/// <param name="Origin">the <see cref="ClientSession"/> (tab) it was made in</param>
public sealed record DatasetChange(int DatasetId, string ActorId, string ActorName, string What, Guid Origin, DateTimeOffset At)
{
    /// <summary>"ana@example.com relabelled 3 images as cat".</summary>
    public string Note => $"{ActorName} {What}";
}

/// <summary>
/// The singleton notifier of dataset changes (STYLE 13): feature services
/// publish after a change is saved; open dataset pages subscribe for their dataset, reload, and unsubscribe when
/// disposed. Handlers run without being awaited, so a slow or broken page never delays or fails the change. A change
/// also goes to the pages of the other web instances through the <see cref="ILiveBus"/> (ADR 035), its phrase cut to
/// <see cref="MaxWhatChars"/> characters there.
/// </summary>
public sealed class DatasetEvents
{
    /// <summary>The bus topic of dataset changes.</summary>
    public const string Topic = "dataset";

    /// <summary>The longest phrase sent to other instances (the bus carries small payloads).</summary>
    public const int MaxWhatChars = 400;

    private readonly TimeProvider _clock;
    private readonly ILiveBus _bus;
    private readonly ILogger<DatasetEvents> _logger;
    private readonly KeyedHandlers<int, DatasetChange> _handlers;

    public DatasetEvents(TimeProvider clock, ILiveBus bus, ILogger<DatasetEvents> logger)
    {
        (_clock, _bus, _logger) = (clock, bus, logger);
        _handlers = new(logger);
        bus.Listen(Topic, Receive);
    }

    /// <summary>Calls <paramref name="handler"/> for every change of the dataset until the result is disposed.</summary>
    public IDisposable Subscribe(int datasetId, Func<DatasetChange, Task> handler) => _handlers.Subscribe(datasetId, handler);

    /// <summary>How many handlers listen to the dataset (tests and diagnostics).</summary>
    public int SubscriberCount(int datasetId) => _handlers.Count(datasetId);

    /// <summary>Tells this instance's pages of the dataset, and those of every other instance.</summary>
    public void Publish(DatasetChange change)
    {
        _handlers.Publish(change.DatasetId, change);
        var remote = change.What.Length > MaxWhatChars ? change with { What = change.What[..(MaxWhatChars - 1)] + "…" } : change;
        if (remote.ActorName.Length > 256) remote = remote with { ActorName = remote.ActorName[..256] };
        _bus.Publish(Topic, JsonSerializer.Serialize(remote));
    }

    private void Receive(string payload)
    {
        try
        {
            if (JsonSerializer.Deserialize<DatasetChange>(payload) is { } change)
                _handlers.Publish(change.DatasetId, change);
        }
        catch (JsonException e)
        {
            _logger.LogWarning(e, "Ignored a malformed dataset change from another instance");
        }
    }

    /// <summary>Publishes a change made by <paramref name="userId"/> in <paramref name="session"/>, named by their
    /// account name (looked up on the caller's context).</summary>
    public async Task PublishAsync(TransferHubDbContext db, ClientSession session, string userId, int datasetId, string what,
        CancellationToken cancellationToken = default)
    {
        var name = await db.Users.Where(u => u.Id == userId).Select(u => u.UserName).FirstOrDefaultAsync(cancellationToken) ?? "Someone";
        Publish(new DatasetChange(datasetId, userId, name, what, session.Id, _clock.GetUtcNow()));
    }

    /// <summary>"1 image", "3 images".</summary>
    public static string Count(int n, string thing, string? things = null) => n == 1 ? $"1 {thing}" : $"{n:N0} {things ?? thing + "s"}";

}
