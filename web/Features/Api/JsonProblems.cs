using System.Text.Json;
using System.Text.RegularExpressions;

namespace TransferHub.Web.Features.Api;

/// <summary>What was wrong with a JSON body, in the API's words: the field (as a JSON path) and what it needed, never
/// the web's .NET type names that System.Text.Json's messages carry ("…could not be converted to
/// System.Collections.Generic.IReadOnlyList`1[System.Int64]", "…contained in type 'TransferHub.Web.Features.Jobs.JobSettings'").</summary>
public static partial class JsonProblems
{
    [GeneratedRegex("The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex Unmapped();

    [GeneratedRegex("could not be converted to (?<type>[^.\\s]+(\\.[^.\\s]+)*?)(\\. Path|\\.$|$)")]
    private static partial Regex Converted();

    [GeneratedRegex("missing required properties including: (?<names>.*)\\.?$")]
    private static partial Regex Missing();

    /// <summary>One sentence naming the field and the problem, e.g. "imageIds: expected a list of whole numbers."</summary>
    public static string Describe(JsonException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var message = e.Message;
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? null : e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path;
        if (Unmapped().Match(message) is { Success: true } unmapped)
            return $"{unmapped.Groups["name"].Value}: there is no such field.";
        if (Missing().Match(message) is { Success: true } missing)
            return $"{missing.Groups["names"].Value.TrimEnd('.').Replace("'", "", StringComparison.Ordinal)}: required.";
        if (Converted().Match(message) is { Success: true } converted)
            return $"{path ?? "the body"}: expected {Expected(converted.Groups["type"].Value)}.";
        // A syntax error: System.Text.Json says where, in JSON terms.
        return $"not valid JSON: {message}";
    }

    private static string Expected(string type)
    {
        var list = type.Contains("List`1", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal);
        var element = type.Contains("Int64", StringComparison.Ordinal) || type.Contains("Int32", StringComparison.Ordinal) ? "whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) ? "number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : type.Contains("String", StringComparison.Ordinal) ? "string"
            : null;
        return (list, element) switch
        {
            (true, { } e) => $"a list of {(e == "true or false" ? "true/false values" : e + "s")}",
            (true, null) => "a list",
            (false, "true or false") => "true or false",
            (false, { } e) => $"a {e}",
            _ => "a value of another kind (see the OpenAPI description)",
        };
    }
}
