using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class KeptDeletionConfiguration : IEntityTypeConfiguration<KeptDeletionRow>
{
    public void Configure(EntityTypeBuilder<KeptDeletionRow> kept)
    {
        kept.ToTable("KeptDeletions");
        kept.HasKey(k => k.Token);
        kept.Property(k => k.Token).ValueGeneratedNever();
        // Expired rows are pruned by this.
        kept.HasIndex(k => k.Until);
        kept.HasOne(k => k.Dataset).WithMany().HasForeignKey(k => k.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}
