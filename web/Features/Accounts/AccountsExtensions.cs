using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using TransferHub.Web.Components.Account;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Accounts;

public static class AccountsExtensions
{
    /// <summary>The Identity tables' schema (Version3: with passkeys). Part of the EF model, so the design-time factory of
    /// <see cref="PostgresTransferHubDbContext"/> uses it too.</summary>
    public static readonly Version IdentitySchemaVersion = IdentitySchemaVersions.Version3;

    /// <summary>ASP.NET Core Identity with cookies on <see cref="TransferHubDbContext"/>, roles, the template's
    /// account pages, and <see cref="WebOptions"/>.</summary>
    public static void AddAccounts(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WebOptions>()
            .BindConfiguration(WebOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddCascadingAuthenticationState();
        services.AddScoped<IdentityRedirectManager>();
        services.AddScoped<AuthenticationStateProvider, IdentityRevalidatingAuthenticationStateProvider>();

        services.AddAuthentication(options =>
            {
                options.DefaultScheme = IdentityConstants.ApplicationScheme;
                options.DefaultSignInScheme = IdentityConstants.ExternalScheme;
            })
            .AddIdentityCookies();
        services.AddAuthorization();

        services.AddIdentityCore<ApplicationUser>(options => options.Stores.SchemaVersion = IdentitySchemaVersion)
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<TransferHubDbContext>()
            .AddUserManager<TransferHubUserManager>()
            .AddSignInManager()
            .AddDefaultTokenProviders();
        services.AddOptions<IdentityOptions>().Configure<IOptions<WebOptions>>((identity, web) =>
            identity.SignIn.RequireConfirmedAccount = web.Value.RequireConfirmedAccount);

        // No mail server: confirmation links are shown on the page instead (see RegisterConfirmation.razor).
        services.AddSingleton<IEmailSender<ApplicationUser>, IdentityNoOpEmailSender>();
    }

    /// <summary>Creates the <see cref="SiteAdmin"/> role and gives it to the account named in Web:AdminEmail,
    /// if that account exists. Run after the database is migrated.</summary>
    public static async Task EnsureSiteAdminAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        if (!await roles.RoleExistsAsync(SiteAdmin.Role))
            Check(await roles.CreateAsync(new IdentityRole(SiteAdmin.Role)));

        var adminEmail = scope.ServiceProvider.GetRequiredService<IOptions<WebOptions>>().Value.AdminEmail;
        if (string.IsNullOrEmpty(adminEmail))
            return;
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (await users.FindByEmailAsync(adminEmail) is { } admin && !await users.IsInRoleAsync(admin, SiteAdmin.Role))
        {
            Check(await users.AddToRoleAsync(admin, SiteAdmin.Role));
            app.Logger.LogInformation("{Email} is now a site admin (Web:AdminEmail)", adminEmail);
        }
    }

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
            throw new InvalidOperationException(string.Join("; ", result.Errors.Select(e => e.Description)));
    }
}
