using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace TransferHub.Web.Features.Api;

/// <summary>
/// The API's authentication scheme: <c>Authorization: Bearer thp_…</c>, checked by
/// <see cref="PersonalAccessTokenService"/>. The principal carries the same NameIdentifier claim as the cookie
/// scheme, so <see cref="Accounts.ClaimsPrincipalExtensions.GetUserId"/> and every feature service work unchanged.
/// A missing, unknown, revoked or expired token is answered 401 with an RFC 6750 <c>WWW-Authenticate</c> header
/// and a problem-details body.
/// </summary>
public sealed class PersonalAccessTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PersonalAccessTokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "PersonalAccessToken";
    public const string TokenIdClaim = "transferhub:token_id";
    private const string Realm = "TransferHub";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return AuthenticateResult.NoResult();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("Send the token as Authorization: Bearer thp_...");
        var check = await tokens.AuthenticateAsync(header[bearer.Length..].Trim(), Context.RequestAborted);
        if (check.UserId is null)
            return AuthenticateResult.Fail(check.Problem ?? "The token was refused.");

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, check.UserId), new Claim(TokenIdClaim, check.TokenId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var problem = result.Failure?.Message;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = problem is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"invalid_token\", error_description=\"{HeaderSafe(problem)}\"";
        await Results.Problem(
            problem ?? "This API needs a personal access token: Authorization: Bearer thp_… (make one under Account → API tokens).",
            statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    /// <summary>Printable ASCII without quotes or backslashes: what a quoted header parameter may hold.</summary>
    private static string HeaderSafe(string text) =>
        string.Concat(text.Select(c => c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '\''));
}
