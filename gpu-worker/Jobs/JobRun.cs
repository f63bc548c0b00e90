using System.Runtime.CompilerServices;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Jobs;

/// <summary>One job: its state and its event log. The log lets any number of watchers replay then follow.</summary>
public sealed class JobRun(TrainingSpec spec)
{
    private readonly object _lock = new();
    private readonly List<(JobEvent Event, int Epoch)> _log = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TrainingSpec Spec { get; } = spec;
    public string JobId => Spec.JobId;
    public CancellationTokenSource Cancellation { get; } = new();
    public JobState State { get; private set; } = JobState.Running;
    public int EpochsDone { get; private set; }
    public string ModelId { get; private set; } = "";
    public string Message { get; private set; } = "";
    /// <summary>Why the job failed (<see cref="FailureCode.Unspecified"/> while running or when completed).</summary>
    public FailureCode FailureCode { get; private set; }
    public DateTimeOffset FinishedAt { get; private set; }
    public bool IsFinished => State != JobState.Running;

    public void Append(JobEvent jobEvent)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (IsFinished) return;
            jobEvent.JobId = JobId;
            jobEvent.Sequence = _log.Count + 1;
            switch (jobEvent.EventCase)
            {
                case JobEvent.EventOneofCase.Epoch:
                    EpochsDone = jobEvent.Epoch.Epoch;
                    break;
                case JobEvent.EventOneofCase.Completed:
                    (State, ModelId, FinishedAt) = (JobState.Completed, jobEvent.Completed.ModelId, DateTimeOffset.UtcNow);
                    break;
                case JobEvent.EventOneofCase.Failed:
                    State = jobEvent.Failed.Code == FailureCode.Cancelled ? JobState.Cancelled : JobState.Failed;
                    (Message, FailureCode, FinishedAt) = (jobEvent.Failed.Message, jobEvent.Failed.Code, DateTimeOffset.UtcNow);
                    break;
            }
            // The epoch an event belongs to: an epoch event its own; a log line the epoch in progress; "started" none.
            var epochOf = jobEvent.EventCase switch
            {
                JobEvent.EventOneofCase.Epoch => EpochsDone,
                JobEvent.EventOneofCase.Started => 0,
                JobEvent.EventOneofCase.Completed or JobEvent.EventOneofCase.Failed => int.MaxValue,
                _ => EpochsDone + 1,
            };
            _log.Add((jobEvent, epochOf));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>Events after epoch <paramref name="afterEpoch"/> (all when 0), then live ones until the job ends.
    /// Ending the enumeration (client gone) never affects the job.</summary>
    public async IAsyncEnumerable<JobEvent> Watch(int afterEpoch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = 0;
        while (true)
        {
            List<JobEvent> batch;
            Task changed;
            bool finished;
            lock (_lock)
            {
                batch = _log.Skip(next).Where(e => afterEpoch <= 0 || e.Epoch > afterEpoch).Select(e => e.Event).ToList();
                next = _log.Count;
                changed = _changed.Task;
                finished = IsFinished;
            }
            foreach (var e in batch) yield return e;
            if (finished) yield break;
            await changed.WaitAsync(cancellationToken);
        }
    }
}
