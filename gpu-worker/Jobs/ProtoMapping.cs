using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Jobs;

/// <summary>Engine results → v1 wire messages.</summary>
internal static class ProtoMapping
{
    public static JobStarted ToProto(TrainingStarted s) => new()
    {
        Device = s.Device,
        TrainImages = s.TrainImages,
        ValImages = s.ValImages,
        TestImages = s.TestImages,
        TrainableParameters = s.TrainableParameters,
        TotalParameters = s.TotalParameters,
        Epochs = s.Epochs,
    };

    public static EpochMetrics ToProto(EpochResult e) => new()
    {
        Epoch = e.Epoch,
        TrainLoss = e.TrainLoss,
        TrainAccuracy = e.TrainAccuracy,
        ValLoss = e.ValLoss,
        ValAccuracy = e.ValAccuracy,
        LearningRate = e.LearningRate,
        Seconds = e.Seconds,
        ImagesPerSecond = e.ImagesPerSecond,
        IsBest = e.IsBest,
    };

    public static JobCompleted ToCompleted(TrainingOutcome outcome, string modelId)
    {
        var report = outcome.Report;
        var completed = new JobCompleted
        {
            EvaluatedSplit = ToProto(outcome.EvaluatedSplit),
            Accuracy = report.Accuracy,
            Loss = report.Loss,
            MacroAverage = ToProto(report.MacroAverage),
            WeightedAverage = ToProto(report.WeightedAverage),
            BestEpoch = outcome.BestEpoch,
            ModelId = modelId,
            TrainingSeconds = outcome.Seconds,
            StoppedEarly = outcome.StoppedEarly,
        };
        if (outcome.Autopilot is { } auto)
        {
            completed.Leaderboard.AddRange(auto.Selection.Leaderboard.Select(ToProto));
            completed.Winner = auto.Selection.WinnerName;
            completed.WinnerReason = auto.Selection.Reason;
            completed.SkippedCandidates.AddRange(auto.Selection.Skipped.Select(s => $"{s.Name}: {s.Reason}"));
        }
        completed.Calibration = ToProto(outcome.Calibration);
        completed.PerClass.AddRange(report.PerClass.Select(ToProto));
        completed.ConfusionMatrix.AddRange(report.ConfusionMatrix.Select(row => new ConfusionRow { Counts = { row } }));
        completed.Predictions.AddRange(report.Predictions.Select(p => new ImagePrediction
        {
            Sha256 = p.Sha256,
            TrueClass = p.TrueClass,
            PredictedClass = p.PredictedClass,
            Confidence = p.Confidence,
            Probabilities = { p.Probabilities },
        }));
        return completed;
    }

    public static Calibration ToProto(CalibrationSummary c) => new()
    {
        Temperature = c.Temperature,
        FittedOn = c.FittedOn ?? "",
        Note = c.Fit.Note ?? "",
        FittedImages = c.Fit.Images,
        NllBefore = c.Fit.NllBefore,
        NllAfter = c.Fit.NllAfter,
        Before = ToProto(c.Before),
        After = ToProto(c.After),
        HeldOut = { c.HeldOut.Select(h => new HeldOutPrediction { Confidence = (float)h.Confidence, Correct = h.Correct }) },
    };

    public static Reliability ToProto(Contracts.Metrics.Reliability r) => new()
    {
        Ece = r.Ece,
        Count = r.Count,
        Bins = { r.Bins.Select(b => new ReliabilityBin { Lower = b.Lower, Upper = b.Upper, Count = b.Count, MeanConfidence = b.MeanConfidence, Accuracy = b.Accuracy }) },
    };

    public static CandidateScored ToProto(Engine.Autopilot.CandidateScore s) => new()
    {
        Name = s.Name,
        CvMean = (float)s.Mean,
        CvCiLow = (float)s.Low,
        CvCiHigh = (float)s.High,
        Seconds = s.Seconds,
        Params = s.Params,
        CvMacroF1 = (float)s.MacroF1,
        Folds = s.Folds,
        Metric = s.Metric,
        Rank = s.Rank,
    };

    public static ClassMetrics ToProto(ClassScore s) => new()
    {
        ClassName = s.ClassName,
        Precision = s.Precision,
        Recall = s.Recall,
        F1 = s.F1,
        Support = s.Support,
    };

    public static Split ToProto(DataSplit split) => split switch
    {
        DataSplit.Train => Split.Train,
        DataSplit.Val => Split.Val,
        _ => Split.Test,
    };
}
