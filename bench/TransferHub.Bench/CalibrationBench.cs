using TorchSharp;
using TransferHub.Contracts.Metrics;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Storage;

/// <summary>
/// Calibration (ADR 022) on stratified 70/15/15 splits: for the feature-extraction default and auto mode, the fitted
/// temperature, the test split's expected calibration error and NLL before (T = 1) and after, and the "unknown"
/// threshold chosen on held-out data for 95 % precision with its coverage there and the precision and coverage it
/// actually gets on the test split. The report's probabilities are the calibrated ones; the uncalibrated ones are
/// softmax(T · log p), exactly what T = 1 gives.
/// </summary>
static class CalibrationBench
{
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, string backbone, int splits, int budget)
    {
        Console.WriteLine($"calibration over {splits} stratified 70/15/15 splits · {options.CompareSize}px squash · auto budget {budget} s · target precision 95 %");
        Console.WriteLine("| split | mode | T (fitted on) | test ECE before → after | test NLL before → after | threshold | held-out coverage | test coverage | test precision answered (all) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var cache = new FeatureCache(Path.Combine(work, "features-calibration"));
        var rows = new List<(string Mode, double EceBefore, double EceAfter, double NllBefore, double NllAfter, double? TestPrecision, double TestCoverage, double Accuracy)>();
        for (var split = 0; split < splits; split++)
        {
            var dataset = Dataset.Load(options.Data, store, split);
            var fe = dataset.FeatureExtractionDefault($"calibration-fe-{split}", backbone, options, seed: split);
            var auto = fe with { JobId = $"calibration-auto-{split}", Mode = TrainingMode.Auto, TimeBudgetSeconds = budget };
            foreach (var (mode, spec) in new[] { ("feature extraction", fe), ("auto", auto) })
            {
                var outcome = new Trainer(registry, store, cache, torch.CPU).Run(spec, new Recorder(), CancellationToken.None);
                outcome.Model.Dispose();
                var c = outcome.Calibration;
                var predictions = outcome.Report.Predictions;
                var after = predictions.Select(p => p.Probabilities).ToList();
                var before = after.Select(p => TemperatureScaling.Softmax([.. p.Select(v => (float)(c.Temperature * Math.Log(Math.Max(v, 1e-30f))))], 1)).ToList();
                double Nll(List<float[]> probabilities) => probabilities.Select((p, i) => -Math.Log(Math.Max(p[predictions[i].TrueClass], 1e-12))).Average();
                var choice = RejectionThreshold.Choose(c.HeldOut, 0.95);
                var answered = choice.Threshold is { } t ? predictions.Where(p => p.Confidence >= t).ToList() : [.. predictions];
                double? testPrecision = answered.Count == 0 ? null : answered.Count(p => p.PredictedClass == p.TrueClass) / (double)answered.Count;
                var testCoverage = answered.Count / (double)predictions.Count;
                rows.Add((mode, c.Before.Ece, c.After.Ece, Nll(before), Nll(after), testPrecision, testCoverage, outcome.Report.Accuracy));
                Console.WriteLine($"| {split} | {mode} | {c.Temperature:0.###} ({c.FittedOn ?? "not fitted"}, {c.Fit.Images}) | {c.Before.Ece:P1} → {c.After.Ece:P1} | " +
                    $"{Nll(before):0.###} → {Nll(after):0.###} | {(choice.Threshold is { } th ? th.ToString("P1") : "none")} | {choice.Coverage:P1} | {testCoverage:P1} | " +
                    $"{(testPrecision is { } tp ? tp.ToString("P1") : "—")} ({outcome.Report.Accuracy:P1}) |");
            }
        }
        foreach (var mode in rows.Select(r => r.Mode).Distinct())
        {
            var r = rows.Where(x => x.Mode == mode).ToList();
            Console.WriteLine($"| mean | {mode} | | {r.Average(x => x.EceBefore):P1} → {r.Average(x => x.EceAfter):P1} | {r.Average(x => x.NllBefore):0.###} → {r.Average(x => x.NllAfter):0.###} | | | " +
                $"{r.Average(x => x.TestCoverage):P1} | {r.Where(x => x.TestPrecision is not null).Average(x => x.TestPrecision!.Value):P1} ({r.Average(x => x.Accuracy):P1}) |");
        }
    }
}
