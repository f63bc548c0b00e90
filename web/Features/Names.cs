namespace TransferHub.Web.Features;

public static class Names
{
    /// <summary>Trims a user-given name and checks it is neither empty nor too long.</summary>
    /// <exception cref="RuleViolationException">With a message naming <paramref name="what"/>.</exception>
    public static string Require(string? name, int maxLength, string what)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0)
            throw new RuleViolationException($"{what} needs a name.");
        if (trimmed.Length > maxLength)
            throw new RuleViolationException($"{what} name can have at most {maxLength} characters.");
        return trimmed;
    }
}
