using Microsoft.AspNetCore.Identity;

namespace TransferHub.Web.Data;

/// <summary>A person with an account. Team membership lives in <see cref="TeamMember"/>.</summary>
public class ApplicationUser : IdentityUser;
