using System.ComponentModel.DataAnnotations;

namespace TransferHub.Worker;

public enum DevicePreference { Auto, Cpu, Cuda }

/// <summary>The worker's configuration (section "Worker"), validated at start.</summary>
public sealed class WorkerOptions : IValidatableObject
{
    public const string Section = "Worker";

    [Required, MinLength(1)]
    public string Name { get; set; } = "local-worker";

    [Range(1, 65535)]
    public int Port { get; set; } = 5101;

    /// <summary>The address to bind; loopback by default.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Shared secret every call must present as "authorization: Bearer &lt;token&gt;".</summary>
    [Required, MinLength(16, ErrorMessage = "Worker:Token must be at least 16 characters.")]
    public string Token { get; set; } = "";

    [Required]
    public string DataFolder { get; set; } = "data/worker";

    [Required]
    public string WeightsFolder { get; set; } = "data/worker/weights";

    public DevicePreference Device { get; set; } = DevicePreference.Auto;

    [Range(1, 64)]
    public int MaxConcurrentJobs { get; set; } = 1;

    /// <summary>Largest accepted image, in pixels.</summary>
    [Range(1, 1_000_000_000)]
    public long MaxImagePixels { get; set; } = 64_000_000;

    /// <summary>The most memory, in MiB, that trained models kept loaded for Predict and Explain may hold (their parameters
    /// and buffers; the pretrained ResNet's models take about 61 MiB each). The least recently used are dropped beyond it;
    /// the model in use is always kept.</summary>
    [Range(1, 1_000_000)]
    public int LoadedModelsMegabytes { get; set; } = 512;

    /// <summary>Threads torch may use; 0 = all cores.</summary>
    [Range(0, 1024)]
    public int TorchThreads { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Token.Contains(' ') || Token.Contains('\n'))
            yield return new ValidationResult("Worker:Token must not contain whitespace.", [nameof(Token)]);
    }
}
