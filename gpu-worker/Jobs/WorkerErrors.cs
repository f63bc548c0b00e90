using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace TransferHub.Worker.Jobs;

/// <summary>
/// What users see of a worker failure: a short message that says what failed, where, and what to try, naming an
/// error id; the full text (a native libtorch trace with install paths and addresses, say) goes only to the worker's
/// log, under the same id, so an operator can find it from the id a user reports.
/// </summary>
public static partial class WorkerErrors
{
    /// <summary>A fresh correlation id: 12 lowercase hex digits.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>True when <paramref name="text"/> can be shown as it is: one line (validation lists may be long) with no absolute file path
    /// and no memory address.</summary>
    public static bool IsUserSafe(string? text) =>
        text is not null && text.Length <= 2000 && !text.Contains('\n') && !text.Contains('\r') && !InternalDetail().IsMatch(text);

    /// <summary>Whether the exception came out of native code (libtorch via TorchSharp raises ExternalException).</summary>
    public static bool IsNative(Exception e) => e is ExternalException || e.InnerException is ExternalException;

    /// <summary>The user-level message of a job that failed unexpectedly.</summary>
    /// <param name="where">"in epoch 8", "while preparing the job", "after epoch 15, while saving the model", …</param>
    public static string TrainingFailed(Exception e, string where, string id) => IsNative(e)
        ? $"Training failed {where} inside libtorch (error id {id}); the worker's log has the details. Re-queue to try again; if it repeats, lower the batch size or report the id."
        : $"Training failed {where} with an internal worker error (error id {id}); the worker's log has the details. Re-queue to try again; if it repeats, report the id.";

    /// <summary>The user-level message of a job that ran out of memory.</summary>
    public static string OutOfMemory(string where, string id) =>
        $"Training ran out of memory {where} (error id {id}). Lower the batch size or the image size, then re-queue.";

    /// <summary>The user-level message of a gRPC call that failed unexpectedly.</summary>
    public static string CallFailed(string method, string id) =>
        $"The worker failed while handling {method} (error id {id}); the worker's log has the details. Try again; if it repeats, report the id.";

    // Absolute Unix paths (/root/.nuget/…, /pytorch/c10/…), Windows drive paths, hex addresses (0x7ffd…), and
    // native frame markers ("frame #3:") never reach users.
    [GeneratedRegex(@"(?:^|[\s'""(=:\[])/[^\s/'""]+/|\b[A-Za-z]:\\|0x[0-9A-Fa-f]{6,}|frame #\d+", RegexOptions.CultureInvariant)]
    private static partial Regex InternalDetail();
}
