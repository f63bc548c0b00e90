using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> dataset)
    {
        dataset.Property(d => d.Name).HasMaxLength(Dataset.NameMaxLength);
        // Names are unique among the project's datasets that exist; a deleted one (restorable, or kept for its runs) frees its name.
        dataset.HasIndex(d => new { d.ProjectId, d.Name }).IsUnique().HasFilter("\"DeletedAt\" IS NULL");
        dataset.HasMany(d => d.Classes).WithOne(c => c.Dataset).HasForeignKey(c => c.DatasetId).OnDelete(DeleteBehavior.Cascade);
        dataset.HasMany(d => d.Images).WithOne(i => i.Dataset).HasForeignKey(i => i.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}
