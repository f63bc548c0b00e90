using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;

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
/// disposed. Handlers run without being awaited, so a slow or broken page never delays or fails the change.
/// </summary>
public sealed class DatasetEvents(TimeProvider clock, ILogger<DatasetEvents> logger)
{
    private readonly KeyedHandlers<int, DatasetChange> _handlers = new(logger);

    /// <summary>Calls <paramref name="handler"/> for every change of the dataset until the result is disposed.</summary>
    public IDisposable Subscribe(int datasetId, Func<DatasetChange, Task> handler) => _handlers.Subscribe(datasetId, handler);

    /// <summary>How many handlers listen to the dataset (tests and diagnostics).</summary>
    public int SubscriberCount(int datasetId) => _handlers.Count(datasetId);

    public void Publish(DatasetChange change) => _handlers.Publish(change.DatasetId, change);

    /// <summary>Publishes a change made by <paramref name="userId"/> in <paramref name="session"/>, named by their
    /// account name (looked up on the caller's context).</summary>
    public async Task PublishAsync(TransferHubDbContext db, ClientSession session, string userId, int datasetId, string what,
        CancellationToken cancellationToken = default)
    {
        var name = await db.Users.Where(u => u.Id == userId).Select(u => u.UserName).FirstOrDefaultAsync(cancellationToken) ?? "Someone";
        Publish(new DatasetChange(datasetId, userId, name, what, session.Id, clock.GetUtcNow()));
    }

    /// <summary>"1 image", "3 images".</summary>
    public static string Count(int n, string thing, string? things = null) => n == 1 ? $"1 {thing}" : $"{n:N0} {things ?? thing + "s"}";

}
