using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Accounts;

/// <summary>Identity's user manager, plus the one rule about who becomes <see cref="SiteAdmin"/>: every way of
/// creating an account (register, external login) goes through <see cref="CreateAsync(ApplicationUser)"/>.</summary>
public sealed class TransferHubUserManager(
    IUserStore<ApplicationUser> store,
    IOptions<IdentityOptions> optionsAccessor,
    IPasswordHasher<ApplicationUser> passwordHasher,
    IEnumerable<IUserValidator<ApplicationUser>> userValidators,
    IEnumerable<IPasswordValidator<ApplicationUser>> passwordValidators,
    ILookupNormalizer keyNormalizer,
    IdentityErrorDescriber errors,
    IServiceProvider services,
    ILogger<UserManager<ApplicationUser>> logger,
    IOptions<WebOptions> webOptions)
    : UserManager<ApplicationUser>(store, optionsAccessor, passwordHasher, userValidators, passwordValidators,
        keyNormalizer, errors, services, logger)
{
    public override async Task<IdentityResult> CreateAsync(ApplicationUser user)
    {
        var result = await base.CreateAsync(user);
        if (!result.Succeeded)
            return result;

        if (await ShouldBeSiteAdminAsync(user))
        {
            var granted = await AddToRoleAsync(user, SiteAdmin.Role);
            if (!granted.Succeeded)
                Logger.LogError("Could not make {Email} a site admin: {Errors}", user.Email,
                    string.Join("; ", granted.Errors.Select(e => e.Description)));
        }
        return result;
    }

    /// <summary>The account named in Web:AdminEmail; when none is named, the first account.</summary>
    private async Task<bool> ShouldBeSiteAdminAsync(ApplicationUser user) =>
        webOptions.Value.AdminEmail is { Length: > 0 } admin
            ? string.Equals(admin, user.Email, StringComparison.OrdinalIgnoreCase)
            : await Users.CountAsync() == 1;
}
