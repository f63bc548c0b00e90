using System.Diagnostics;
using TorchSharp;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Storage;

/// <summary>
/// Issue 13 part 2: the label-issue finder on a dataset with a known share of labels flipped. Per seed, round(noise·n)
/// images chosen at random get another class chosen at random (both from that seed); the finder (out-of-fold
/// probabilities by stratified 5-fold on the frozen features, then confident learning) runs on the noisy labels, and
/// its flagged set is compared with the flipped set: precision = flipped ∩ flagged / flagged, recall = flipped ∩ flagged
/// / flipped. Every filter is measured on the same probabilities; the features are computed once (the first seed is cold).
///   dotnet run -c Release --project bench/TransferHub.Bench -- --label-issues [--seeds 3] [--noise 0.1] [--compare-size 224]
/// </summary>
static class LabelIssueBench
{
    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, string work, Dataset dataset, string backbone,
        int firstSeed, int seeds, double noise, bool explore)
    {
        var spec = dataset.Spec("label-issues", backbone, TrainingMode.Auto, 1, options.CompareSize, options.Batch);
        var clock = Stopwatch.StartNew();
        var clean = new AutopilotTrainer(registry, store, new FeatureCache(Path.Combine(work, "features-labels")), torch.CPU)
            .Features(spec, IgnoringObserver.Instance, CancellationToken.None);
        Console.WriteLine($"label issues · {dataset.Items.Count} images · {options.CompareSize}px squash · {noise:P0} of labels flipped per seed · features in {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine("| seed | flipped | filter | flagged | precision | recall | outliers (flipped among them) | OOF accuracy on noisy labels | s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var totals = new Dictionary<(string, LabelIssueFilter), List<(double P, double R)>>();
        for (var seed = firstSeed; seed < firstSeed + seeds; seed++)
        {
            var random = new Random(1000 + seed);
            var labels = clean.Labels.ToArray();
            var flip = Enumerable.Range(0, labels.Length).ToArray();
            random.Shuffle(flip);
            var flipped = flip.Take((int)Math.Round(noise * labels.Length)).ToHashSet();
            foreach (var i in flipped)
            {
                var other = random.Next(clean.Classes - 1);
                labels[i] = other >= clean.Labels[i] ? other + 1 : other;
            }
            var noisy = new FeatureSet(clean.Plain, clean.Flipped, labels, clean.Classes, clean.Blocks);
            var grid = explore
                ? new[] { 1e-4, 1e-3, 3e-3, 1e-2, 1e-1 }.Select(c =>
                    (Candidate?)new Candidate($"logreg-std-C{c}", CandidateKind.LogisticRegression, PreprocessingKind.Standardise, c, PooledStages: 2))
                    .Append(new Candidate("nearest-class-mean", CandidateKind.NearestClassMean, PreprocessingKind.CentredL2, PooledStages: 2)).ToArray()
                : new Candidate?[] { null };
            foreach (var candidate in grid)
            foreach (var filter in Enum.GetValues<LabelIssueFilter>())
            {
                clock.Restart();
                var report = LabelIssueSearch.Find(noisy, new LabelIssueOptions { Seed = seed, Filter = filter, Classifier = candidate });
                var flagged = report.Verdicts.Where(v => v.LabelIssue).Select(v => v.Index).ToHashSet();
                var hits = flagged.Count(flipped.Contains);
                var precision = flagged.Count == 0 ? 0 : (double)hits / flagged.Count;
                var recall = (double)hits / flipped.Count;
                var outliers = report.Verdicts.Where(v => v.Outlier).ToList();
                (totals.TryGetValue((candidate?.Name ?? "default", filter), out var list) ? list : totals[(candidate?.Name ?? "default", filter)] = []).Add((precision, recall));
                if (!explore) Console.WriteLine($"| {seed} | {flipped.Count} | {filter} | {flagged.Count} | {precision:P1} | {recall:P1} | {outliers.Count} ({outliers.Count(o => flipped.Contains(o.Index))}) | {report.OutOfFoldAccuracy:P1} | {clock.Elapsed.TotalSeconds:F1} |");
            }
        }
        foreach (var ((name, filter), list) in totals)
            Console.WriteLine($"| mean | | {(explore ? name + " " : "")}{filter} | | {list.Average(x => x.P):P1} (min {list.Min(x => x.P):P1}) | {list.Average(x => x.R):P1} (min {list.Min(x => x.R):P1}) | | | |");
    }
}
