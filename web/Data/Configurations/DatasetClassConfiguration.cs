using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class DatasetClassConfiguration : IEntityTypeConfiguration<DatasetClass>
{
    public void Configure(EntityTypeBuilder<DatasetClass> datasetClass)
    {
        datasetClass.Property(c => c.Name).HasMaxLength(DatasetClass.NameMaxLength);
        datasetClass.HasIndex(c => new { c.DatasetId, c.Name }).IsUnique();
    }
}
