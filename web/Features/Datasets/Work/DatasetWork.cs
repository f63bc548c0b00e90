using System.Threading.Channels;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Datasets.Live;

namespace TransferHub.Web.Features.Datasets.Work;

/// <summary>
/// Runs a dataset's long operations off the Blazor circuit (STYLE 13): finding near-duplicates or label issues, and importing a zip a
/// tab has spooled to a temporary file. A page starts an operation, gets its id, subscribes to its updates (or to all
/// of a dataset's) and may cancel it; closing the tab stops nothing. Each operation runs in its own DI scope acting for
/// the tab that started it (<see cref="ClientSession.ActFor"/>), through the feature services, which check the
/// caller's rights as they do on a page. An import owns its spooled file and deletes it when it ends, however it ends.
/// At most <see cref="MaxConcurrent"/> operations run at once; the rest wait in a queue. Finished operations are
/// remembered for <see cref="KeepFinished"/>, so a page that subscribes late still gets the result from
/// <see cref="Current"/>.
/// </summary>
public sealed class DatasetWork(IServiceScopeFactory scopes, TimeProvider clock, ILogger<DatasetWork> logger) : BackgroundService
{
    public const int MaxConcurrent = 2;

    public static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(10);

    private readonly Channel<Operation> _queue = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Operation> _operations = [];
    private readonly KeyedHandlers<Guid, DatasetWorkUpdate> _byOperation = new(logger);
    private readonly KeyedHandlers<int, DatasetWorkUpdate> _byDataset = new(logger);

    /// <summary>Queues a near-duplicate search (<see cref="DuplicateService.FindAsync"/>) for <paramref name="userId"/>.</summary>
    public Guid StartFindDuplicates(string userId, int datasetId, double threshold, Guid origin) =>
        Start(new Operation(Guid.NewGuid(), DatasetWorkKind.FindDuplicates, userId, datasetId, $"similarity {threshold:0.00}", origin)
        {
            Threshold = threshold,
        });

    /// <summary>Queues a label-issue search (<see cref="LabelIssues.LabelIssueService.FindAsync"/>) for <paramref name="userId"/>.</summary>
    public Guid StartFindLabelIssues(string userId, int datasetId, Guid origin) =>
        Start(new Operation(Guid.NewGuid(), DatasetWorkKind.FindLabelIssues, userId, datasetId, "label issues", origin));

    /// <summary>Queues the import of a zip spooled to <paramref name="spooledZip"/>, which the operation now owns: it is
    /// deleted when the import ends (done, refused, failed or cancelled). <paramref name="name"/> is the upload's file name.</summary>
    public Guid StartImportZip(string userId, int datasetId, string spooledZip, string name, Guid origin) =>
        Start(new Operation(Guid.NewGuid(), DatasetWorkKind.ImportZip, userId, datasetId, name, origin) { SpooledZip = spooledZip });

    /// <summary>The latest update of an operation (null: unknown, or finished more than <see cref="KeepFinished"/> ago).</summary>
    public DatasetWorkUpdate? Current(Guid operationId)
    {
        lock (_lock) return _operations.GetValueOrDefault(operationId)?.Latest;
    }

    /// <summary>Asks the operation to stop: a queued one never starts; a running search stops between images, an import
    /// between files (what it imported is kept and reported). False when it is unknown or already finished.</summary>
    public bool Cancel(Guid operationId)
    {
        Operation? operation;
        lock (_lock) operation = _operations.GetValueOrDefault(operationId);
        if (operation is null || operation.Latest.Finished) return false;
        operation.Cancellation.Cancel();
        // One still waiting for a slot ends now (it will not start): the page need not wait for the queue.
        if (Publish(operation, operation.Latest with { State = DatasetWorkState.Cancelled, Step = new WorkStep("cancelled", 0, 0) }, onlyIf: DatasetWorkState.Queued))
            DeleteSpool(operation);
        return true;
    }

    /// <summary>Calls <paramref name="handler"/> with every update of the operation until disposed.</summary>
    public IDisposable SubscribeOperation(Guid operationId, Func<DatasetWorkUpdate, Task> handler) => _byOperation.Subscribe(operationId, handler);

    /// <summary>Calls <paramref name="handler"/> with every update of any operation on the dataset until disposed.</summary>
    public IDisposable SubscribeDataset(int datasetId, Func<DatasetWorkUpdate, Task> handler) => _byDataset.Subscribe(datasetId, handler);

    /// <summary>How many handlers listen to an operation (tests and diagnostics).</summary>
    public int SubscriberCount(Guid operationId) => _byOperation.Count(operationId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(MaxConcurrent);
        var running = new List<Task>();
        try
        {
            await foreach (var operation in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await slots.WaitAsync(stoppingToken);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await RunAsync(operation);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: cancel what runs (imports keep what they committed), drop what waits.
        }
        _queue.Writer.TryComplete();
        Operation[] all;
        lock (_lock) all = [.. _operations.Values];
        foreach (var operation in all) operation.Cancellation.Cancel();
        await Task.WhenAll(running);
        while (_queue.Reader.TryRead(out var waiting)) await RunAsync(waiting);
    }

    private Guid Start(Operation operation)
    {
        lock (_lock)
        {
            var expired = clock.GetUtcNow() - KeepFinished;
            foreach (var old in _operations.Values.Where(o => o.Latest.Finished && o.FinishedAt < expired).ToList())
            {
                _operations.Remove(old.Id);
                old.Cancellation.Dispose();
            }
            _operations[operation.Id] = operation;
        }
        if (!_queue.Writer.TryWrite(operation))
        {
            // The application is stopping: the operation ends at once, and its file goes with it.
            Finish(operation, operation.Latest with { State = DatasetWorkState.Cancelled, Error = "The server is shutting down; try again in a moment." });
            DeleteSpool(operation);
        }
        return operation.Id;
    }

    private async Task RunAsync(Operation operation)
    {
        var token = operation.Cancellation.Token;
        try
        {
            if (token.IsCancellationRequested)
            {
                Finish(operation, operation.Latest with { State = DatasetWorkState.Cancelled });
                return;
            }
            if (!Publish(operation, operation.Latest with { State = DatasetWorkState.Running, Step = new WorkStep("starting", 0, 0) }, onlyIf: DatasetWorkState.Queued))
                return; // cancelled while it waited
            await using var scope = scopes.CreateAsyncScope();
            scope.ServiceProvider.GetRequiredService<ClientSession>().ActFor(operation.Origin);
            var progress = new Reporter(this, operation);
            var done = operation.Kind switch
            {
                DatasetWorkKind.FindDuplicates => await FindAsync(scope.ServiceProvider.GetRequiredService<DuplicateService>(), operation, progress, token),
                DatasetWorkKind.ImportZip => await ImportAsync(scope.ServiceProvider.GetRequiredService<DatasetImportService>(), operation, progress, token),
                DatasetWorkKind.FindLabelIssues => operation.Latest with
                {
                    State = DatasetWorkState.Completed,
                    Step = new WorkStep("done", 0, 0),
                    LabelIssues = await scope.ServiceProvider.GetRequiredService<LabelIssues.LabelIssueService>().FindAsync(operation.UserId, operation.DatasetId, progress, token),
                },
                _ => throw new InvalidOperationException($"Unknown kind {operation.Kind}"),
            };
            Finish(operation, done);
        }
        catch (ImportCancelledException cancelled)
        {
            Finish(operation, operation.Latest with
            {
                State = DatasetWorkState.Cancelled,
                Step = new WorkStep("cancelled", cancelled.Partial.Files.Count, cancelled.Total),
                Report = cancelled.Partial,
            });
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Finish(operation, operation.Latest with { State = DatasetWorkState.Cancelled, Step = operation.Latest.Step with { Phrase = "cancelled" } });
        }
        catch (ArchiveException e)
        {
            Fail(operation, $"{operation.Name} was not imported: {e.Message}");
        }
        catch (FeatureException e)
        {
            Fail(operation, e.Message);
        }
        catch (IOException e)
        {
            Fail(operation, operation.Kind == DatasetWorkKind.ImportZip ? $"The upload of {operation.Name} failed: {e.Message}" : e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Kind} {OperationId} on dataset {DatasetId} failed", operation.Kind, operation.Id, operation.DatasetId);
            Fail(operation, "The operation failed unexpectedly; the server log has the details.");
        }
        finally
        {
            DeleteSpool(operation);
        }
    }

    private static async Task<DatasetWorkUpdate> FindAsync(DuplicateService duplicates, Operation operation, Reporter progress, CancellationToken token)
    {
        var found = await duplicates.FindAsync(operation.UserId, operation.DatasetId, operation.Threshold, progress, token);
        return operation.Latest with { State = DatasetWorkState.Completed, Step = operation.Latest.Step with { Phrase = "done" }, Duplicates = found };
    }

    private static async Task<DatasetWorkUpdate> ImportAsync(DatasetImportService import, Operation operation, Reporter progress, CancellationToken token)
    {
        await using var zip = new FileStream(operation.SpooledZip!, FileMode.Open, FileAccess.Read, FileShare.Read, 80 * 1024, useAsync: true);
        var report = await import.ImportZipAsync(operation.UserId, operation.DatasetId, zip, progress, token);
        return operation.Latest with
        {
            State = DatasetWorkState.Completed,
            Step = new WorkStep("done", report.Files.Count, report.Files.Count),
            Report = report,
        };
    }

    private void Fail(Operation operation, string error) =>
        Finish(operation, operation.Latest with { State = DatasetWorkState.Failed, Error = error });

    /// <summary>Ends the operation: its spooled upload is deleted before anyone hears it finished.</summary>
    private void Finish(Operation operation, DatasetWorkUpdate update)
    {
        DeleteSpool(operation);
        Publish(operation, update);
    }

    private void DeleteSpool(Operation operation)
    {
        if (operation.SpooledZip is not { } path) return;
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete the spooled upload {Path}", path);
        }
    }

    /// <summary>Makes <paramref name="update"/> the operation's latest and tells the subscribers; false (and nothing
    /// told) when the operation has finished, or is not in state <paramref name="onlyIf"/>.</summary>
    private bool Publish(Operation operation, DatasetWorkUpdate update, DatasetWorkState? onlyIf = null)
    {
        lock (_lock)
        {
            // A finished operation says nothing more.
            if (operation.Latest.Finished || (onlyIf is { } state && operation.Latest.State != state)) return false;
            operation.Latest = update;
            if (update.Finished) operation.FinishedAt = clock.GetUtcNow();
        }
        _byOperation.Publish(operation.Id, update);
        _byDataset.Publish(operation.DatasetId, update);
        return true;
    }

    private sealed class Operation(Guid id, DatasetWorkKind kind, string userId, int datasetId, string name, Guid origin)
    {
        public Guid Id => id;
        public DatasetWorkKind Kind => kind;
        public string UserId => userId;
        public int DatasetId => datasetId;
        public string Name => name;
        public Guid Origin => origin;
        public double Threshold { get; init; }
        public string? SpooledZip { get; init; }
        public CancellationTokenSource Cancellation { get; } = new();
        public DatasetWorkUpdate Latest { get; set; } = new(id, datasetId, kind, name, DatasetWorkState.Queued, new WorkStep("waiting", 0, 0));
        public DateTimeOffset FinishedAt { get; set; }
    }

    /// <summary>Progress from the feature services, published at most every 1% of a step (and at each step's end or
    /// change of phrase), so a large import does not flood the pages.</summary>
    private sealed class Reporter(DatasetWork work, Operation operation) : IProgress<WorkStep>, IProgress<ImportProgress>
    {
        private WorkStep _shown = new("", -1, 0);

        public void Report(ImportProgress value) => Report(new WorkStep("importing", value.Done, value.Total));

        public void Report(WorkStep value)
        {
            if (value.Phrase == _shown.Phrase && value.Total == _shown.Total && value.Done != value.Total
                && value.Done - _shown.Done < Math.Max(1, value.Total / 100))
                return;
            _shown = value;
            work.Publish(operation, operation.Latest with { State = DatasetWorkState.Running, Step = value });
        }
    }
}
