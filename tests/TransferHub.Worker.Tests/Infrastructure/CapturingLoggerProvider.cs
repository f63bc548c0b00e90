using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TransferHub.Worker.Tests.Infrastructure;

/// <summary>An ILogger sink for tests: keeps every entry (category, level, formatted message, exception).</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception)
    {
        /// <summary>The message and the whole exception (type, message, stack), as a console log would show them.</summary>
        public string FullText => Exception is null ? Message : $"{Message}{Environment.NewLine}{Exception}";
    }

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
    }
}
