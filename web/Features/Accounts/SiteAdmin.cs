namespace TransferHub.Web.Features.Accounts;

/// <summary>The site-wide administrator role (runs the site; owns no team data by virtue of it).</summary>
public static class SiteAdmin
{
    public const string Role = "SiteAdmin";
}
