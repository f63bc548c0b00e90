using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class DatasetImageConfiguration : IEntityTypeConfiguration<DatasetImage>
{
    public void Configure(EntityTypeBuilder<DatasetImage> image)
    {
        image.Property(i => i.Sha256).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        image.Property(i => i.OriginalName).HasMaxLength(DatasetImage.OriginalNameMaxLength);
        image.Property(i => i.Split).HasConversion<string>().HasMaxLength(16);

        // A dataset holds each content once; the importer reports a second copy as a duplicate.
        image.HasIndex(i => new { i.DatasetId, i.Sha256 }).IsUnique();
        // The gallery filters by class and by split.
        image.HasIndex(i => new { i.DatasetId, i.ClassId, i.Split }); // class chart and class+split filters (docs/benchmarks.md)
        image.HasIndex(i => new { i.DatasetId, i.Split });

        // NO ACTION (checked at the end of the statement, so deleting a whole dataset still cascades):
        // deleting a class that still has images fails instead of silently unlabelling them.
        image.HasOne(i => i.Class).WithMany().HasForeignKey(i => i.ClassId).OnDelete(DeleteBehavior.NoAction);
        image.HasOne(i => i.AddedBy).WithMany().HasForeignKey(i => i.AddedByUserId).OnDelete(DeleteBehavior.SetNull);
    }
}
