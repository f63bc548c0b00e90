using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class WorkerNodeConfiguration : IEntityTypeConfiguration<WorkerNode>
{
    public void Configure(EntityTypeBuilder<WorkerNode> worker)
    {
        worker.ToTable("Workers");
        worker.Property(w => w.Name).HasMaxLength(WorkerNode.NameMaxLength);
        worker.HasIndex(w => w.Name).IsUnique();
        worker.Property(w => w.Address).HasMaxLength(WorkerNode.AddressMaxLength);
        worker.Property(w => w.TokenHint).HasMaxLength(8);
        worker.Property(w => w.LastError).HasMaxLength(1000);
        worker.Property(w => w.DeviceKind).HasMaxLength(20);
        worker.Property(w => w.DeviceName).HasMaxLength(200);
        worker.Property(w => w.WorkerVersion).HasMaxLength(100);
        worker.Property(w => w.Backbones).HasMaxLength(4000);
        worker.Property(w => w.Status).HasConversion<string>().HasMaxLength(20);
    }
}
