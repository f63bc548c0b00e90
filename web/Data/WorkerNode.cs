namespace TransferHub.Web.Data;

public enum WorkerStatus { Unknown, Online, Offline }

/// <summary>A registered GPU worker: where it listens, its (protected) token, and what it last said about itself.
/// Workers belong to the site, not to a team; only site admins manage them.</summary>
public class WorkerNode
{
    public const int NameMaxLength = 100;
    public const int AddressMaxLength = 300;

    public int Id { get; set; }
    public required string Name { get; set; }
    /// <summary>http(s)://host:port of its gRPC endpoint.</summary>
    public required string Address { get; set; }
    /// <summary>The bearer token, encrypted with ASP.NET Core Data Protection; never shown again in full.</summary>
    public required string ProtectedToken { get; set; }
    /// <summary>The token's last four characters, to tell tokens apart.</summary>
    public required string TokenHint { get; set; }
    public bool Enabled { get; set; } = true;
    /// <summary>Finishes its current job but takes no new one.</summary>
    public bool Draining { get; set; }
    /// <summary>The worker configured with the web app itself (Workers:Local).</summary>
    public bool IsLocal { get; set; }
    public WorkerStatus Status { get; set; }
    public DateTime? LastSeenAt { get; set; }
    /// <summary>Why the last contact failed, in words for the admin.</summary>
    public string? LastError { get; set; }
    public string? DeviceKind { get; set; }
    public string? DeviceName { get; set; }
    public string? WorkerVersion { get; set; }
    public int Capacity { get; set; }
    /// <summary>Its frozen-backbone feature throughput as last measured and reported (forward passes per second at 224 px,
    /// <c>WorkerInfo.feature_images_per_second</c>); null until it has measured one. Scales auto mode's default time
    /// budget (<see cref="Contracts.Jobs.JobDefaults.AutoTimeBudgetFor"/>).</summary>
    public double? FeatureImagesPerSecond { get; set; }
    /// <summary>The backbones it offers (names, comma-separated), as last reported.</summary>
    public string Backbones { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}
