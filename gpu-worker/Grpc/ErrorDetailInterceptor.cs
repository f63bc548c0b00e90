using Grpc.Core;
using Grpc.Core.Interceptors;
using TransferHub.Worker.Jobs;

namespace TransferHub.Worker.Grpc;

/// <summary>
/// Keeps internal detail out of every gRPC error: an unexpected exception becomes <see cref="StatusCode.Internal"/>
/// with a short message naming an error id, and an <see cref="RpcException"/> whose detail carries a path, an address
/// or a multi-line trace gets the same treatment (status code kept). The full exception is logged under that id.
/// Cancellations pass through untouched.
/// </summary>
public sealed class ErrorDetailInterceptor(ILogger<ErrorDetailInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (NeedsRewrite(e, context))
        {
            throw Rewrite(e, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (NeedsRewrite(e, context))
        {
            throw Rewrite(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (NeedsRewrite(e, context))
        {
            throw Rewrite(e, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (NeedsRewrite(e, context))
        {
            throw Rewrite(e, context);
        }
    }

    private static bool NeedsRewrite(Exception e, ServerCallContext context) => e switch
    {
        RpcException rpc => !WorkerErrors.IsUserSafe(rpc.Status.Detail),
        OperationCanceledException => !context.CancellationToken.IsCancellationRequested,
        _ => true,
    };

    private RpcException Rewrite(Exception e, ServerCallContext context)
    {
        var id = WorkerErrors.NewId();
        var method = context.Method.Split('/')[^1];
        var code = e is RpcException rpc ? rpc.StatusCode : StatusCode.Internal;
        logger.LogError(e, "gRPC call {Method} failed (error id {ErrorId})", context.Method, id);
        return new RpcException(new Status(code, WorkerErrors.CallFailed(method, id)));
    }
}
