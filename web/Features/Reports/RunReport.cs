namespace TransferHub.Web.Features.Reports;

// The input of RunReportRenderer: a finished run's evaluation, already mapped from the jobs feature's data.
// Metrics (precision, recall, F1, accuracy, confidence) are fractions in [0, 1]; times are UTC.

/// <summary>One class's row of the evaluation report (also used for the macro and weighted averages).</summary>
public sealed record ReportClassRow(string ClassName, double Precision, double Recall, double F1, int Support);

/// <summary>One training epoch; the validation values are null when the run had no validation split.</summary>
public sealed record ReportEpoch(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy);

/// <summary>The prediction for one evaluated image.</summary>
public sealed record ReportPrediction(string Sha256, string OriginalName, string TrueClass, string PredictedClass, double Confidence);

/// <summary>A misclassified image's JPEG thumbnail and its caption (e.g. "cat → dog, 87%"), chosen by the caller.</summary>
public sealed record ReportThumbnail(byte[] Jpeg, string Caption);

/// <summary>One classifier an auto run scored by cross-validation on train + val: the mean of <paramref name="Metric"/>
/// ("accuracy" or "macro_f1") over <paramref name="Folds"/> folds and its 95 % t-interval.</summary>
public sealed record ReportCandidate(int Rank, string Name, string Params, string Metric, double CvMean, double CiLow, double CiHigh,
    double MacroF1, int Folds, double Seconds);

/// <summary>How an auto run chose its classifier: every scored candidate, best first, the winner and why, and the
/// candidates its time budget skipped (each with the reason).</summary>
public sealed record ReportLeaderboard(string? Winner, string? WinnerReason, IReadOnlyList<ReportCandidate> Candidates, IReadOnlyList<string> Skipped);

/// <summary>A run's calibration (ADR 022): the temperature T (probabilities = softmax(logits / T)) and what it was fitted
/// on, the evaluated split's expected calibration error and reliability bins at T = 1 and at T, and the "unknown"
/// threshold (null: none) chosen for the target precision, its coverage and held-out precision, and a sentence.</summary>
public sealed record ReportCalibration(double Temperature, string? FittedOn, string FittedOnText, string? Note,
    double EceBefore, double EceAfter, IReadOnlyList<Contracts.Metrics.ReliabilityBin> BinsBefore, IReadOnlyList<Contracts.Metrics.ReliabilityBin> BinsAfter,
    double TargetPrecision, double? Threshold, double Coverage, double ThresholdPrecision, string ThresholdMessage);

/// <summary>One finding of the training doctor (<c>Features.Jobs.Doctor.TrainingDoctor</c>): <paramref name="Severity"/>
/// "info", "warning" or "error"; <paramref name="Evidence"/> the numbers that triggered it in a sentence, also by name in
/// <paramref name="Numbers"/>; <paramref name="Advice"/> what to do.</summary>
public sealed record ReportFinding(string Rule, string Severity, string Title, string Evidence, IReadOnlyDictionary<string, double> Numbers, string Advice);

/// <summary>Everything the report shows about one finished training run.</summary>
/// <param name="Title">e.g. "Run #12 · resnet18x3-imagenet · fine-tune"; also in every page's footer.</param>
/// <param name="DatasetVersion">The SHA-256 hex of the dataset content the run trained on.</param>
/// <param name="EvaluatedSplit">"test", "val", or "train" (no held-out images: the numbers are optimistic and the
/// report says so next to them).</param>
/// <param name="Hyperparameters">Shown in this order (backbone, mode, lr, epochs, ...).</param>
/// <param name="PerClass">In <paramref name="ClassNames"/> order. A metric that is not a number (0/0) is shown as 0,
/// as scikit-learn's <c>zero_division=0</c> and the worker do.</param>
/// <param name="MacroAverage">Shown as "macro avg"; its <see cref="ReportClassRow.ClassName"/> is not used.</param>
/// <param name="WeightedAverage">Shown as "weighted avg"; its <see cref="ReportClassRow.ClassName"/> is not used.</param>
/// <param name="Confusion">Counts indexed [true][predicted], in <paramref name="ClassNames"/> order.</param>
/// <param name="Predictions">Every evaluated image.</param>
/// <param name="Misclassified">A few misclassified images, already chosen by the caller; may be empty.</param>
/// <param name="Leaderboard">Auto runs: how the classifier was chosen (shown instead of training curves); null otherwise.</param>
/// <param name="Findings">The training doctor's findings, worst first; null or empty: none.</param>
public sealed record RunReport(
    string Title,
    string TeamName, string ProjectName, string DatasetName,
    string DatasetVersion,
    DateTime CreatedAtUtc, DateTime? FinishedAtUtc, double TrainingSeconds,
    string EvaluatedSplit,
    double Accuracy, double Loss, int BestEpoch, bool StoppedEarly,
    IReadOnlyList<KeyValuePair<string, string>> Hyperparameters,
    IReadOnlyList<ReportEpoch> Epochs,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<ReportClassRow> PerClass, ReportClassRow MacroAverage, ReportClassRow WeightedAverage,
    int[][] Confusion,
    IReadOnlyList<ReportPrediction> Predictions,
    IReadOnlyList<ReportThumbnail> Misclassified,
    ReportLeaderboard? Leaderboard = null,
    IReadOnlyList<ReportFinding>? Findings = null)
{
    /// <summary>Null for ensembles and runs trained before calibration existed.</summary>
    public ReportCalibration? Calibration { get; init; }
}
