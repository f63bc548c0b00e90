using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class LabelIssueFindingConfiguration : IEntityTypeConfiguration<LabelIssueFinding>
{
    public void Configure(EntityTypeBuilder<LabelIssueFinding> finding)
    {
        finding.ToTable("LabelIssueFindings");
        finding.Property(f => f.Sha256).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        finding.HasIndex(f => new { f.DatasetId, f.Sha256 }).IsUnique();
        finding.HasOne(f => f.Dataset).WithMany().HasForeignKey(f => f.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed class KeptLabelConfiguration : IEntityTypeConfiguration<KeptLabel>
{
    public void Configure(EntityTypeBuilder<KeptLabel> kept)
    {
        kept.ToTable("KeptLabels");
        kept.Property(k => k.Sha256).HasMaxLength(DatasetImage.Sha256Length).IsFixedLength();
        kept.HasIndex(k => new { k.DatasetId, k.Sha256, k.ClassId }).IsUnique();
        kept.HasOne(k => k.Dataset).WithMany().HasForeignKey(k => k.DatasetId).OnDelete(DeleteBehavior.Cascade);
        kept.HasOne<ApplicationUser>().WithMany().HasForeignKey(k => k.KeptByUserId).OnDelete(DeleteBehavior.SetNull);
    }
}
