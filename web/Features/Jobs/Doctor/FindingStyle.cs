using MudBlazor;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>How findings look in the web app: one colour and alert style per severity.</summary>
internal static class FindingStyle
{
    public static Severity Severity(FindingSeverity severity) => severity switch
    {
        FindingSeverity.Error => MudBlazor.Severity.Error,
        FindingSeverity.Warning => MudBlazor.Severity.Warning,
        _ => MudBlazor.Severity.Info,
    };

    /// <summary>The colour of the worst finding (default when there is none).</summary>
    public static Color Colour(IReadOnlyList<Finding> findings) => findings.Count == 0 ? Color.Default : findings.Max(f => f.Severity) switch
    {
        FindingSeverity.Error => Color.Error,
        FindingSeverity.Warning => Color.Warning,
        _ => Color.Info,
    };
}
