// Worker memory (issue 16 goal 3) through the product: the real worker process (ProductHarness) runs full fine-tunes
// launched through the web API on the seeded Fashion sample; its resident set is read from /proc while and after each runs.
//   dotnet build gpu-worker -c Release && dotnet run -c Release --project bench/TransferHub.Web.Bench -- --worker-memory [--big-runs 1] [--runs 20] [--small-size 64] [--settle 3]
// Big runs: 224 px, batch 32, all stages trainable, 2 epochs (targets: peak ≤ 2.5 GB; RSS after the run within 300 MB of
// idle). Small runs: the same at --small-size px, 1 epoch, for growth over many runs. "after" is read --settle seconds
// after the web saw the run end (the web has copied the model by then).
using System.Globalization;

namespace TransferHub.Web.Bench;

public static class WorkerMemoryBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var bigRuns = int.Parse(GalleryBench.Option(args, "--big-runs") ?? "1");
        var runs = int.Parse(GalleryBench.Option(args, "--runs") ?? "20");
        var smallSize = int.Parse(GalleryBench.Option(args, "--small-size") ?? "64");
        var settle = TimeSpan.FromSeconds(double.Parse(GalleryBench.Option(args, "--settle") ?? "3", CultureInfo.InvariantCulture));
        await using var product = await ProductHarness.StartAsync();
        await Task.Delay(settle);
        var (idle, startPeak) = product.WorkerMemory();
        var canReset = product.ResetWorkerPeak();
        Console.WriteLine($"TransferHub worker memory · {Environment.ProcessorCount} cores · worker idle RSS {idle:F0} MiB (peak while starting {startPeak:F0} MiB)" +
            (canReset ? "" : " · VmHWM cannot be reset here: peaks are polled every 100 ms only"));
        Console.WriteLine();
        Console.WriteLine("| run | settings | seconds | peak RSS MiB | RSS after MiB | after − idle MiB |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var afters = new List<double>();
        async Task Run(int n, string label, string settings)
        {
            product.ResetWorkerPeak();
            var polled = 0.0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await product.TrainAsync(settings, () => polled = Math.Max(polled, product.WorkerMemory().Rss));
            var seconds = clock.Elapsed.TotalSeconds;
            var peak = Math.Max(polled, canReset ? product.WorkerMemory().Peak : 0);
            await Task.Delay(settle);
            var after = product.WorkerMemory().Rss;
            afters.Add(after);
            Console.WriteLine($"| {n} | {label} | {seconds:F0} | {peak:F0} | {after:F0} | {after - idle:+0;-0} |");
        }
        for (var i = 1; i <= bigRuns; i++)
            await Run(i, "fine-tune 224 px, batch 32, all stages, 2 epochs",
                """{"mode":"fineTune","backbone":"resnet18x3-imagenet","imageSize":224,"batchSize":32,"epochs":2,"headFirstEpochs":0,"unfreezeStages":0,"earlyStoppingPatience":0,"seed":1}""");
        var firstSmall = afters.Count;
        for (var i = 1; i <= runs; i++)
            await Run(bigRuns + i, $"fine-tune {smallSize} px, batch 32, all stages, 1 epoch",
                $$"""{"mode":"fineTune","backbone":"resnet18x3-imagenet","imageSize":{{smallSize}},"batchSize":32,"epochs":1,"headFirstEpochs":0,"unfreezeStages":0,"earlyStoppingPatience":0,"seed":{{i}}}""");
        if (runs >= 2)
        {
            var small = afters.Skip(firstSmall).ToList();
            // Least-squares slope of RSS-after over the small runs (MiB per run): growth, if any, without one noisy reading deciding.
            var xs = Enumerable.Range(0, small.Count).Select(x => (double)x).ToList();
            var (mx, my) = (xs.Average(), small.Average());
            var slope = xs.Zip(small).Sum(p => (p.First - mx) * (p.Second - my)) / xs.Sum(x => (x - mx) * (x - mx));
            Console.WriteLine();
            Console.WriteLine($"small runs: RSS after run 1 {small[0]:F0} MiB, after run {small.Count} {small[^1]:F0} MiB, min {small.Min():F0}, max {small.Max():F0}; " +
                $"least-squares slope {slope:+0.0;-0.0} MiB/run");
        }
        return 0;
    }
}
