using TransferHub.Worker.Engine.Training;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using TransferHub.Testing;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Infrastructure;

/// <summary>The real worker host on TestServer with its own temporary data folder.</summary>
public sealed class WorkerFactory : WebApplicationFactory<Program>
{
    public const string Token = "test-token-0123456789abcdef";
    private readonly Dictionary<string, string?> _settings;

    public WorkerFactory() : this(null)
    {
    }

    /// <summary>A worker whose configuration is overridden by <paramref name="settings"/>.</summary>
    public static WorkerFactory With(IDictionary<string, string?> settings) => new(settings);

    private WorkerFactory(IDictionary<string, string?>? settings)
    {
        DataFolder = Path.Combine(Path.GetTempPath(), "transferhub-worker-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(DataFolder, "weights"));
        _settings = new Dictionary<string, string?>
        {
            ["Worker:Name"] = "test-worker",
            ["Worker:Token"] = Token,
            ["Worker:DataFolder"] = DataFolder,
            ["Worker:WeightsFolder"] = Path.Combine(DataFolder, "weights"),
            ["Worker:Device"] = "Cpu",
            ["Worker:MaxConcurrentJobs"] = "2",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) _settings[key] = value;
    }

    public string DataFolder { get; }

    public string WeightsFolder => Path.Combine(DataFolder, "weights");

    /// <summary>The worker's log; a test attaches its output helper to it (<see cref="TestOutputLoggerProvider.Attach"/>).</summary>
    public TestOutputLoggerProvider Log { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureLogging(Log.AddTo);
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
    }

    public GrpcChannel Channel() => GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxReceiveMessageSize = 64 * 1024 * 1024,
    });

    /// <summary>A client that presents <paramref name="token"/> (the worker's own by default; null = none).</summary>
    public WorkerService.WorkerServiceClient Client(string? token = Token)
    {
        var channel = Channel();
        return token is null
            ? new WorkerService.WorkerServiceClient(channel)
            : new WorkerService.WorkerServiceClient(channel.Intercept(metadata =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return metadata;
            }));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(DataFolder, recursive: true); } catch (IOException) { }
    }
}

public static class WorkerClientExtensions
{
    /// <summary>Sends the images the worker lacks, in small chunks, and returns the worker's answer.</summary>
    public static async Task<UploadImagesResponse> UploadAsync(this WorkerService.WorkerServiceClient client, IEnumerable<TestImage> images, int chunkBytes = 4096)
    {
        var list = images.ToList();
        var missing = (await client.FindMissingImagesAsync(new FindMissingImagesRequest { Sha256 = { list.Select(i => i.Sha256) } })).MissingSha256.ToHashSet();
        using var call = client.UploadImages();
        foreach (var image in list.Where(i => missing.Contains(i.Sha256)))
        {
            for (var offset = 0; offset < Math.Max(1, image.Data.Length); offset += chunkBytes)
            {
                var data = image.Data.AsSpan(offset, Math.Min(chunkBytes, image.Data.Length - offset));
                await call.RequestStream.WriteAsync(new UploadImagesRequest
                {
                    Sha256 = image.Sha256,
                    Name = offset == 0 ? image.Name : "",
                    Data = Google.Protobuf.ByteString.CopyFrom(data),
                });
            }
        }
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    public static JobSpec Spec(string jobId, IEnumerable<TestImage> images, int classes, string backbone = "resnet18x3-imagenet")
    {
        var spec = new JobSpec
        {
            JobId = jobId,
            Backbone = backbone,
            Mode = JobMode.FeatureExtraction,
            Epochs = 3,
            BatchSize = 16,
            ImageSize = 32,
            Seed = 7,
        };
        spec.ClassNames.AddRange(TestImages.FashionClasses.Take(classes));
        spec.Items.AddRange(images.Select(i => new DatasetItem
        {
            Sha256 = i.Sha256,
            ClassIndex = i.ClassIndex,
            Split = i.Split switch
            {
                DataSplit.Train => Split.Train,
                DataSplit.Val => Split.Val,
                _ => Split.Test,
            },
        }));
        return spec;
    }

    public static async Task<List<JobEvent>> ReadAllAsync(this AsyncServerStreamingCall<JobEvent> call, CancellationToken cancellationToken = default)
    {
        var events = new List<JobEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken)) events.Add(e);
        return events;
    }
}
