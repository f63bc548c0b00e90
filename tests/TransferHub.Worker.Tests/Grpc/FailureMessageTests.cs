using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Grpc;
using TransferHub.Worker.Jobs;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

/// <summary>Issue 17 item 2: users see a short message with an error id; the worker's log keeps the native trace.</summary>
public sealed partial class FailureMessageTests
{
    /// <summary>What libtorch's errors look like through TorchSharp (the issue's failure, abridged).</summary>
    internal const string NativeText =
        "For integral input tensors, argument alpha must not be a floating point number.\n" +
        "Exception raised from alpha_check at /pytorch/aten/src/ATen/native/BinaryOps.h:44 (most recent call first):\n" +
        "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9c (0x7ffd3a1c2e4c in /root/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native/libc10.so)\n" +
        "frame #1: at::native::add_stub + 0x1a4 (0x7ffd2b93d2a4 in /root/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native/libtorch_cpu.so)\n" +
        "frame #2: THSTensor_add_scalar_ + 0x61 (0x7ffd1c0a7761 in /srv/transferhub/worker/runtimes/linux-x64/native/libLibTorchSharp.so)\n";

    [GeneratedRegex(@"error id ([0-9a-f]{12})")]
    private static partial Regex ErrorId();

    /// <summary>Reports the start and epochs 1–7, then fails in epoch 8 the way libtorch does.</summary>
    private sealed class NativeFailureInEpoch8 : IJobTrainer
    {
        public TrainingOutcome Run(TrainingSpec spec, ITrainingObserver observer, CancellationToken cancellationToken)
        {
            observer.Started(new TrainingStarted("cpu", 6, 3, 3, 100, 1000, 15));
            for (var epoch = 1; epoch <= 7; epoch++)
                observer.Epoch(new EpochResult(epoch, 1f / epoch, 0.5f, 1f, 0.5f, 1e-3f, 0.1, 60, epoch == 1));
            throw new ExternalException(NativeText);
        }
    }

    [Fact]
    public async Task ANativeFailureStreamsAShortMessageWithAnIdAndTheLogKeepsTheTraceUnderThatId()
    {
        using var worker = new WorkerFactory();
        var sink = new CapturingLoggerProvider();
        using var host = worker.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
        {
            services.AddSingleton<IJobTrainer, NativeFailureInEpoch8>();
            services.AddSingleton<ILoggerProvider>(sink);
        }));
        var client = new WorkerService.WorkerServiceClient(GrpcChannelFor(host));
        var images = TestImages.Fashion(classes: 3, train: 2, val: 1, test: 1);
        await client.UploadAsync(images);
        var spec = WorkerClientExtensions.Spec("native-1", images, classes: 3);
        spec.Mode = JobMode.FineTune;
        spec.Epochs = 15;

        var events = await client.StartJob(spec).ReadAllAsync();

        Assert.Equal(7, events.Count(e => e.Epoch is not null));
        var failed = events[^1].Failed;
        Assert.NotNull(failed);
        Assert.Equal(FailureCode.Internal, failed.Code);
        AssertUserLevel(failed.Message);
        Assert.StartsWith("Training failed in epoch 8 inside libtorch (error id ", failed.Message);
        Assert.Contains("Re-queue", failed.Message);
        var id = ErrorId().Match(failed.Message).Groups[1].Value;

        var status = await client.GetJobStatusAsync(new GetJobStatusRequest { JobId = "native-1" });
        Assert.Equal(failed.Message, status.Message);

        var logged = Assert.Single(sink.Entries, e => e.Level == LogLevel.Error && e.Message.Contains(id));
        Assert.Contains(NativeText.TrimEnd(), logged.FullText);
        Assert.Contains("epoch 8", logged.Message);

        // Every call of the worker's service goes through the interceptor that does the same for gRPC errors.
        var grpc = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions>>().Value;
        Assert.Contains(grpc.Interceptors, i => i.Type == typeof(ErrorDetailInterceptor));
    }

    [Fact]
    public async Task AnUnexpectedExceptionInACallBecomesInternalWithAnIdAndIsLoggedInFull()
    {
        var sink = new CapturingLoggerProvider();
        using var factory = new LoggerFactory([sink]);
        var interceptor = new ErrorDetailInterceptor(factory.CreateLogger<ErrorDetailInterceptor>());
        var context = new FakeCallContext("/transferhub.worker.v1.WorkerService/Predict");

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("request", context,
            (_, _) => throw new ExternalException(NativeText)));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        AssertUserLevel(error.Status.Detail);
        Assert.StartsWith("The worker failed while handling Predict (error id ", error.Status.Detail);
        var id = ErrorId().Match(error.Status.Detail).Groups[1].Value;
        var logged = Assert.Single(sink.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(id, logged.Message);
        Assert.Contains(NativeText.TrimEnd(), logged.FullText);
    }

    [Fact]
    public async Task RpcErrorDetailsKeepTheirCodeAndLoseTheirTraceWhileUserLevelOnesPassUnchanged()
    {
        var sink = new CapturingLoggerProvider();
        using var factory = new LoggerFactory([sink]);
        var interceptor = new ErrorDetailInterceptor(factory.CreateLogger<ErrorDetailInterceptor>());
        var context = new FakeCallContext("/transferhub.worker.v1.WorkerService/UploadModel");

        var rewritten = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("request", context,
            (_, _) => throw new RpcException(new Status(StatusCode.InvalidArgument, "Not a TransferHub model file: " + NativeText))));
        Assert.Equal(StatusCode.InvalidArgument, rewritten.StatusCode);
        AssertUserLevel(rewritten.Status.Detail);
        Assert.Contains(NativeText.TrimEnd(), Assert.Single(sink.Entries).FullText);

        const string userLevel = "No model 'abc' on this worker.";
        var untouched = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("request", context,
            (_, _) => throw new RpcException(new Status(StatusCode.NotFound, userLevel))));
        Assert.Equal((StatusCode.NotFound, userLevel), (untouched.StatusCode, untouched.Status.Detail));
        Assert.Single(sink.Entries);
    }

    [Theory]
    [InlineData("Image abc is not on this worker; upload it first.", true)]
    [InlineData("Backbone 'x' is unknown; known: resnet18x3-imagenet, resnet50-random.", true)]
    [InlineData("Training diverged in epoch 3: the training loss became NaN. Lower the learning rate (e.g. to 0.0001).", true)]
    [InlineData("Could not read /root/.nuget/packages/x/lib.so", false)]
    [InlineData("bad value at 0x7ffd3a1c2e4c", false)]
    [InlineData("line one\nline two", false)]
    [InlineData(@"Could not open C:\data\weights.pt", false)]
    public void UserSafeTextHasNoPathsAddressesOrLineBreaks(string text, bool safe) => Assert.Equal(safe, WorkerErrors.IsUserSafe(text));

    private static void AssertUserLevel(string message)
    {
        Assert.True(message.Length < 300, $"too long ({message.Length}): {message}");
        Assert.DoesNotContain("\n", message);
        Assert.DoesNotContain("/root", message);
        Assert.DoesNotContain(".so", message);
        Assert.DoesNotContain("0x", message);
        Assert.DoesNotContain("frame #", message);
        Assert.Matches(ErrorId(), message);
    }

    private static CallInvoker GrpcChannelFor(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> host) =>
        global::Grpc.Net.Client.GrpcChannel.ForAddress(host.Server.BaseAddress, new global::Grpc.Net.Client.GrpcChannelOptions { HttpHandler = host.Server.CreateHandler() })
            .Intercept(metadata =>
            {
                metadata.Add("authorization", $"Bearer {WorkerFactory.Token}");
                return metadata;
            });

    private sealed class FakeCallContext(string method) : ServerCallContext
    {
        protected override string MethodCore => method;
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
