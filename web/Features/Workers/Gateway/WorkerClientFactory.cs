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
                HttpHandler = CreateHandler(uri),
                MaxReceiveMessageSize = 64 * 1024 * 1024,
                MaxSendMessageSize = 64 * 1024 * 1024,
            });
            _channels[address] = channel;
            return channel;
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
