using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace TransferHub.Testing;

/// <summary>
/// Writes a test host's log into the output of the test that is running, as grpc-dotnet's <c>GrpcTestFixture</c> does:
/// a host keeps one provider and each test attaches its <see cref="ITestOutputHelper"/> while it runs, so a failing
/// test shows what the worker or web app logged. App categories from Information, Microsoft.* and System.* from
/// Warning; lines logged while no test is attached are dropped (and not even formatted).
/// </summary>
public sealed class TestOutputLoggerProvider : ILoggerProvider
{
    private ITestOutputHelper? _output;

    /// <summary>Routes the host's log to <paramref name="output"/> until the result is disposed.</summary>
    public IDisposable Attach(ITestOutputHelper output)
    {
        Volatile.Write(ref _output, output);
        return new Detachment(this, output);
    }

    /// <summary>Adds this provider to a host's logging with the levels above; the host's other providers keep theirs.</summary>
    public void AddTo(ILoggingBuilder logging) => logging.AddProvider(this)
        .AddFilter<TestOutputLoggerProvider>(null, LogLevel.Information)
        .AddFilter<TestOutputLoggerProvider>("Microsoft", LogLevel.Warning)
        .AddFilter<TestOutputLoggerProvider>("System", LogLevel.Warning);

    public ILogger CreateLogger(string categoryName) => new OutputLogger(this, categoryName);

    public void Dispose() => Volatile.Write(ref _output, null);

    private bool Listening => Volatile.Read(ref _output) is not null;

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        if (Volatile.Read(ref _output) is not { } output) return;
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {level} {category}: {message}"
                + (exception is null ? "" : Environment.NewLine + exception));
        }
        catch (InvalidOperationException)
        {
            // "There is no currently active test": the test ended while a host thread (e.g. a job's) was still logging.
        }
    }

    private sealed class Detachment(TestOutputLoggerProvider provider, ITestOutputHelper output) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref provider._output, null, output);
    }

    private sealed class OutputLogger(TestOutputLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && provider.Listening;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) provider.Write(category, logLevel, formatter(state, exception), exception);
        }
    }
}
