// Single-image predict latency (issue 16 goal 5) through the product: the real worker process and the real web app
// (ProductHarness), a run trained on the seeded Fashion sample at 224 px, then timed predictions of one photo.
//   dotnet build gpu-worker -c Release && dotnet run -c Release --project bench/TransferHub.Web.Bench -- --predict-latency [--count 100] [--modes fe,auto] [--image PATH]
// Per model: POST /api/v1/jobs/{id}/predict (bearer token, real HTTP, what a script sees) and the worker's Predict RPC
// called directly over gRPC (the same call the web makes), after 5 warm-up calls each; p50/p95/mean/min/max in ms.
using System.Diagnostics;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Bench;

public static class PredictLatencyBench
{
    private const int WarmUp = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        var count = int.Parse(GalleryBench.Option(args, "--count") ?? "100");
        var modes = (GalleryBench.Option(args, "--modes") ?? "fe,auto").Split(',');
        var imagePath = GalleryBench.Option(args, "--image")
            ?? Path.Combine(ProductHarness.RepoRoot(), "tests", "TransferHub.Worker.Tests", "TestData", "photos", "chelsea.jpg");
        var image = await File.ReadAllBytesAsync(imagePath);
        var clock = Stopwatch.StartNew();
        await using var product = await ProductHarness.StartAsync();
        Console.WriteLine($"TransferHub predict latency · {Environment.ProcessorCount} cores · worker process + web app started in {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"image: {Path.GetFileName(imagePath)} ({image.Length:N0} bytes) · {count} timed calls after {WarmUp} warm-up calls · ms");
        Console.WriteLine();
        Console.WriteLine("| model | path | p50 | p95 | mean | min | max |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        using var channel = GrpcChannel.ForAddress(product.WorkerAddress);
        var worker = new WorkerService.WorkerServiceClient(channel);
        var headers = new Metadata { { "authorization", $"Bearer {ProductHarness.WorkerToken}" } };
        foreach (var mode in modes)
        {
            var (name, settings) = mode switch
            {
                "fe" => ("feature extraction 224 px", """{"backbone":"resnet18x3-imagenet","imageSize":224,"epochs":5,"earlyStoppingPatience":0,"seed":1}"""),
                "auto" => ("auto 224 px", """{"mode":"auto","backbone":"resnet18x3-imagenet","imageSize":224,"timeBudgetSeconds":30,"seed":1}"""),
                "finetune" => ("fine-tune 224 px", """{"mode":"fineTune","backbone":"resnet18x3-imagenet","imageSize":224,"epochs":2,"headFirstEpochs":1,"earlyStoppingPatience":0,"seed":1}"""),
                _ => throw new ArgumentException($"--modes: fe, auto or finetune; got '{mode}'."),
            };
            clock.Restart();
            var (jobId, _) = await product.TrainAsync(settings);
            var trainSeconds = clock.Elapsed.TotalSeconds;
            var modelId = await product.InWebAsync(async s =>
            {
                await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
                return (await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId)).ModelId!;
            });

            var api = await TimeAsync(count, async () =>
            {
                using var body = new ByteArrayContent(image);
                body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                using var response = await product.Api.PostAsync($"jobs/{jobId}/predict?topK=3", body);
                await ProductHarness.JsonAsync(response);
            });
            Console.WriteLine(Row($"{name} (run {jobId}, trained in {trainSeconds:F0} s)", "web API POST /jobs/{id}/predict", api));
            var request = new PredictRequest { ModelId = modelId, Image = ByteString.CopyFrom(image), TopK = 3 };
            var direct = await TimeAsync(count, async () => await worker.PredictAsync(request, headers));
            Console.WriteLine(Row("", "worker Predict RPC directly", direct));
        }
        var (rss, peak) = product.WorkerMemory();
        Console.WriteLine();
        Console.WriteLine($"worker process: RSS {rss:F0} MiB, peak {peak:F0} MiB");
        return 0;
    }

    private static async Task<double[]> TimeAsync(int count, Func<Task> call)
    {
        for (var i = 0; i < WarmUp; i++) await call();
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Row(string model, string path, double[] sorted) =>
        $"| {model} | {path} | {Percentile(sorted, 50):F1} | {Percentile(sorted, 95):F1} | {sorted.Average():F1} | {sorted[0]:F1} | {sorted[^1]:F1} |";
}
