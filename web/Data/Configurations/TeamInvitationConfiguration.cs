using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class TeamInvitationConfiguration : IEntityTypeConfiguration<TeamInvitation>
{
    public void Configure(EntityTypeBuilder<TeamInvitation> invitation)
    {
        invitation.Property(i => i.TokenHash).HasMaxLength(64);
        // An opened link is looked up by its hash.
        invitation.HasIndex(i => i.TokenHash).IsUnique();
        invitation.Property(i => i.Hint).HasMaxLength(TeamInvitation.HintMaxLength);
        // Stored by name, as TeamMember.Role is.
        invitation.Property(i => i.Role).HasConversion<string>().HasMaxLength(16);
        // Deleting a team deletes its links; deleting an account keeps the links it made or used, without the name.
        invitation.HasOne(i => i.Team).WithMany().HasForeignKey(i => i.TeamId).OnDelete(DeleteBehavior.Cascade);
        invitation.HasOne(i => i.CreatedBy).WithMany().HasForeignKey(i => i.CreatedByUserId).OnDelete(DeleteBehavior.SetNull);
        invitation.HasOne(i => i.UsedBy).WithMany().HasForeignKey(i => i.UsedByUserId).OnDelete(DeleteBehavior.SetNull);
        invitation.HasIndex(i => i.TeamId);
    }
}
