using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Workers.Gateway;

/// <summary>gRPC clients for a worker address with its bearer token. Channels are cached per address (HTTP/2
/// connections are meant to be reused). Tests replace <see cref="CreateHandler"/> to reach an in-process worker.</summary>
public class WorkerClientFactory : IDisposable
{
    /// <summary>The activity source of grpc-dotnet's client calls (one span per call to a worker).</summary>
    public const string ClientActivitySource = "Grpc.Net.Client";

    private readonly Dictionary<string, GrpcChannel> _channels = [];
    private readonly object _lock = new();

    public WorkerService.WorkerServiceClient Client(string address, string token) =>
        new(Channel(address).Intercept(metadata =>
        {
            metadata.Add("authorization", $"Bearer {token}");
            return metadata;
        }));

    public Grpc.Health.V1.Health.HealthClient Health(string address) => new(Channel(address));

    /// <summary>The HTTP handler for an address: a real socket handler unless a test substitutes its own.</summary>
    protected virtual HttpMessageHandler CreateHandler(Uri address) => new SocketsHttpHandler
    {
        EnableMultipleHttp2Connections = true,
        KeepAlivePingDelay = TimeSpan.FromSeconds(30),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    private GrpcChannel Channel(string address)
    {
        lock (_lock)
        {
            if (_channels.TryGetValue(address, out var channel)) return channel;
            var uri = new Uri(address);
            channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
            {
                HttpHandler = new TraceContextHandler(CreateHandler(uri)),
                MaxReceiveMessageSize = 64 * 1024 * 1024,
                MaxSendMessageSize = 64 * 1024 * 1024,
            });
            _channels[address] = channel;
            return channel;
        }
    }

    /// <summary>Sends the current trace context (W3C <c>traceparent</c>/<c>tracestate</c>) with every call, so a run's
    /// spans on the worker join the web's trace. Socket handlers do this themselves when an activity is current; a
    /// substituted handler (a test's in-process worker) does not, and an existing header is never replaced.</summary>
    private sealed class TraceContextHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Activity.Current is { } activity && !request.Headers.Contains("traceparent"))
                DistributedContextPropagator.Current.Inject(activity, request, static (carrier, name, value) =>
                {
                    if (carrier is HttpRequestMessage message && value is not null) message.Headers.TryAddWithoutValidation(name, value);
                });
            return base.SendAsync(request, cancellationToken);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var channel in _channels.Values) channel.Dispose();
            _channels.Clear();
        }
        GC.SuppressFinalize(this);
    }
}
