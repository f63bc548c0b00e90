using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class ImageEmbeddingConfiguration : IEntityTypeConfiguration<ImageEmbeddingRow>
{
    public void Configure(EntityTypeBuilder<ImageEmbeddingRow> embedding)
    {
        embedding.ToTable("ImageEmbeddings");
        embedding.HasKey(e => new { e.Method, e.Sha256 });
        embedding.Property(e => e.Sha256).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        embedding.Property(e => e.Method).HasMaxLength(300);
        embedding.HasIndex(e => e.CreatedAt);
    }
}

public sealed class DistinctImagePairConfiguration : IEntityTypeConfiguration<DistinctImagePair>
{
    public void Configure(EntityTypeBuilder<DistinctImagePair> pair)
    {
        pair.ToTable("DistinctImagePairs");
        pair.Property(p => p.Sha256A).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        pair.Property(p => p.Sha256B).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        pair.HasIndex(p => new { p.DatasetId, p.Sha256A, p.Sha256B }).IsUnique();
        pair.HasOne(p => p.Dataset).WithMany().HasForeignKey(p => p.DatasetId).OnDelete(DeleteBehavior.Cascade);
        pair.HasOne<ApplicationUser>().WithMany().HasForeignKey(p => p.MarkedByUserId).OnDelete(DeleteBehavior.SetNull);
    }
}
