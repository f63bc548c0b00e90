using TransferHub.Worker.Tests.Infrastructure;

namespace TransferHub.Worker.Tests.Grpc;

public sealed class WorkerStartupTests
{
    [Theory]
    [InlineData("Worker:Token", "short", "Worker:Token must be at least 16 characters")]
    [InlineData("Worker:Port", "70000", "Port")]
    [InlineData("Worker:MaxConcurrentJobs", "0", "MaxConcurrentJobs")]
    [InlineData("Worker:Device", "Cuda", "no CUDA device")]
    public void InvalidConfigurationStopsTheWorkerAtStartWithAClearMessage(string key, string value, string expected)
    {
        using var factory = WorkerFactory.With(new Dictionary<string, string?> { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => factory.Server);
        var messages = string.Join(" | ", Flatten(error).Select(e => e.Message));
        Assert.Contains(expected, messages);
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            yield return x;
            if (x is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten)) yield return inner;
        }
    }
}
