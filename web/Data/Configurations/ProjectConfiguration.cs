using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class ProjectConfiguration : IEntityTypeConfiguration<Project>
{
    public void Configure(EntityTypeBuilder<Project> project)
    {
        project.Property(p => p.Name).HasMaxLength(Project.NameMaxLength);
        project.Property(p => p.Description).HasMaxLength(Project.DescriptionMaxLength);
        // Names are unique among the team's projects that exist; a deleted one (restorable for a while) frees its name.
        project.HasIndex(p => new { p.TeamId, p.Name }).IsUnique().HasFilter("\"DeletedAt\" IS NULL");
        project.HasMany(p => p.Datasets).WithOne(d => d.Project).HasForeignKey(d => d.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}
