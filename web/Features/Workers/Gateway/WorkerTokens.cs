using Microsoft.AspNetCore.DataProtection;

namespace TransferHub.Web.Features.Workers.Gateway;

/// <summary>Workers' bearer tokens, stored encrypted with ASP.NET Core Data Protection (keys under Storage:Root) and
/// decrypted only here, for the gateway's calls.</summary>
public sealed class WorkerTokens(IDataProtectionProvider dataProtection)
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("TransferHub.Workers.Token.v1");

    /// <summary>The stored form of a token.</summary>
    public string Protect(string token) => _protector.Protect(token);

    internal string Unprotect(string protectedToken) => _protector.Unprotect(protectedToken);
}
