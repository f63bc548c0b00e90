using System.Security.Claims;

namespace TransferHub.Web.Features.Accounts;

public static class ClaimsPrincipalExtensions
{
    /// <summary>The signed-in user's id (Identity puts it in the NameIdentifier claim).</summary>
    public static string GetUserId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.NameIdentifier)
        ?? throw new InvalidOperationException("The user is not signed in.");
}
