using TransferHub.Web.Features.Jobs;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Workers.Gateway;

/// <summary>Maps the worker's <c>JobEvent</c>s onto the web's <see cref="RunEvent"/> records.</summary>
internal static class RunEvents
{
    /// <returns>Null for an event this version of the web does not know (a newer worker's addition to v1).</returns>
    public static RunEvent? From(JobEvent e, IReadOnlyList<string> classNames) => e.EventCase switch
    {
        JobEvent.EventOneofCase.Started => new RunStarted(e.Sequence, e.Started.Device, e.Started.TrainImages, e.Started.ValImages,
            e.Started.TestImages, e.Started.TrainableParameters, e.Started.TotalParameters, e.Started.Epochs),
        JobEvent.EventOneofCase.Epoch => new RunEpoch(e.Sequence, e.Epoch.Epoch, e.Epoch.TrainLoss, e.Epoch.TrainAccuracy, e.Epoch.ValLoss,
            e.Epoch.ValAccuracy, e.Epoch.LearningRate, e.Epoch.Seconds, e.Epoch.ImagesPerSecond, e.Epoch.IsBest),
        JobEvent.EventOneofCase.Log => new RunLog(e.Sequence, e.Log.Level, e.Log.Message),
        JobEvent.EventOneofCase.Completed => new RunTrained(e.Sequence, Evaluation(e.Completed, classNames), e.Completed.ModelId,
            e.Completed.BestEpoch, e.Completed.StoppedEarly, e.Completed.TrainingSeconds, Selection(e.Completed), Calibration(e.Completed)),
        JobEvent.EventOneofCase.Candidate => new RunCandidate(e.Sequence, Candidate(e.Candidate)),
        JobEvent.EventOneofCase.Features => new RunFeatures(e.Sequence, e.Features.Images, e.Features.CachedImages, e.Features.ComputedImages,
            e.Features.Seconds),
        JobEvent.EventOneofCase.Failed => new RunFailed(e.Sequence, e.Failed.Code switch
        {
            FailureCode.Cancelled => RunFailureKind.Cancelled,
            FailureCode.InvalidInput => RunFailureKind.InvalidInput,
            FailureCode.OutOfMemory => RunFailureKind.OutOfMemory,
            FailureCode.Diverged => RunFailureKind.Diverged,
            _ => RunFailureKind.Internal,
        }, e.Failed.Message),
        _ => null,
    };

    /// <summary>What the worker reported when a run completed, taken as is: the worker scores with
    /// <c>ClassificationMetrics.ForRun</c>, the code <see cref="Jobs.RunEvaluation.Compute"/> uses for ensembles, so nothing
    /// is recomputed.</summary>
    public static Jobs.RunEvaluation Evaluation(JobCompleted completed, IReadOnlyList<string> classNames) => new(
        RunSpec.SplitName(completed.EvaluatedSplit),
        completed.Accuracy,
        completed.Loss,
        classNames,
        [.. completed.PerClass.Select(Score)],
        Score(completed.MacroAverage ?? new ClassMetrics { ClassName = "macro avg" }),
        Score(completed.WeightedAverage ?? new ClassMetrics { ClassName = "weighted avg" }),
        [.. completed.ConfusionMatrix.Select(r => r.Counts.ToArray())],
        [.. completed.Predictions.Select(p => new Jobs.ImageVerdict(p.Sha256, p.TrueClass, p.PredictedClass, p.Confidence, [.. p.Probabilities]))]);

    /// <summary>An Auto run's final choice (leaderboard best first, ranks set by the worker); null when the run did not
    /// choose (other modes).</summary>
    public static ModelSelection? Selection(JobCompleted completed) => completed.Leaderboard.Count == 0 && completed.Winner.Length == 0
        ? null
        : new ModelSelection([.. completed.Leaderboard.Select(Candidate)], completed.Winner.Length == 0 ? null : completed.Winner,
            completed.WinnerReason.Length == 0 ? null : completed.WinnerReason, [.. completed.SkippedCandidates]);

    /// <summary>The run's calibration; null from a worker that sent none.</summary>
    public static Jobs.RunCalibration? Calibration(JobCompleted completed) => completed.Calibration is not { } c || c.Temperature <= 0
        ? null
        : new Jobs.RunCalibration(c.Temperature, c.FittedOn.Length == 0 ? null : c.FittedOn, c.Note.Length == 0 ? null : c.Note, c.FittedImages,
            double.IsFinite(c.NllBefore) ? c.NllBefore : null, double.IsFinite(c.NllAfter) ? c.NllAfter : null,
            Reliability(c.Before), Reliability(c.After), [.. c.HeldOut.Select(h => new Contracts.Metrics.HeldOutConfidence(h.Confidence, h.Correct))]);

    private static Contracts.Metrics.Reliability Reliability(Worker.V1.Reliability? r) => r is null
        ? new Contracts.Metrics.Reliability(0, 0, [])
        : new Contracts.Metrics.Reliability(r.Ece, r.Count, [.. r.Bins.Select(b => new Contracts.Metrics.ReliabilityBin(b.Lower, b.Upper, b.Count, b.MeanConfidence, b.Accuracy))]);

    private static CandidateResult Candidate(CandidateScored c) => new(c.Name, c.Params, c.Metric, c.CvMean, c.CvCiLow, c.CvCiHigh,
        c.CvMacroF1, c.Folds, c.Seconds, c.Rank);

    private static Jobs.ClassScore Score(ClassMetrics m) => new(m.ClassName, m.Precision, m.Recall, m.F1, m.Support);
}
