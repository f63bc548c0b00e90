using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class PersonalAccessTokenConfiguration : IEntityTypeConfiguration<PersonalAccessToken>
{
    public void Configure(EntityTypeBuilder<PersonalAccessToken> token)
    {
        token.Property(t => t.Name).HasMaxLength(PersonalAccessToken.NameMaxLength);
        token.Property(t => t.TokenHash).HasMaxLength(64);
        // Every API request looks its token up by hash.
        token.HasIndex(t => t.TokenHash).IsUnique();
        token.Property(t => t.Hint).HasMaxLength(PersonalAccessToken.HintMaxLength);
        // Deleting an account deletes its tokens.
        token.HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        token.HasIndex(t => t.UserId);
    }
}
