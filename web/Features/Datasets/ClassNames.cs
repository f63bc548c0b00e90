using System.Text;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Datasets;

/// <summary>
/// The one identity of a class name, applied wherever a name enters (zip folders, add, rename; drops and merges go
/// to classes that already have one): Unicode NFC, surrounding whitespace removed, compared ordinally, so names are
/// case-sensitive (<c>a</c> and <c>A</c> are different letters in EMNIST-style datasets; merging them would lose
/// data). Names that lost a character in an earlier conversion (U+FFFD), hold control characters or are not valid
/// Unicode are refused.
/// </summary>
public static class ClassNames
{
    /// <summary>How class names are compared everywhere: ordinal, on the normalised form.</summary>
    public static StringComparer Comparer => StringComparer.Ordinal;

    /// <summary>The class name for <paramref name="raw"/>, and a note when the name differs from it visibly (surrounding
    /// whitespace removed); NFC alone changes nothing one can see and gets no note.</summary>
    /// <exception cref="RuleViolationException">empty, too long, not valid Unicode, U+FFFD or a control character</exception>
    public static (string Name, string? Note) Normalize(string? raw)
    {
        var (name, note, error) = Read(raw);
        return error is null ? (name!, note) : throw new RuleViolationException(error);
    }

    /// <summary>As <see cref="Normalize"/>, but the refusal is returned (for per-file import reports).</summary>
    public static (string? Name, string? Note, string? Error) Read(string? raw)
    {
        raw ??= "";
        string composed;
        try
        {
            composed = raw.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return (null, null, "A class name must be valid Unicode text (it holds an unpaired surrogate).");
        }
        var name = composed.Trim();
        if (name.Length == 0)
            return (null, null, "A class needs a name.");
        if (name.Length > DatasetClass.NameMaxLength)
            return (null, null, $"A class name can have at most {DatasetClass.NameMaxLength} characters.");
        if (name.Contains('\uFFFD'))
            return (null, null, $"The class name \"{name}\" holds U+FFFD, the replacement character that marks a character lost in an earlier conversion; fix the name.");
        if (name.Any(char.IsControl))
            return (null, null, "A class name cannot hold control characters (line breaks, tabs and the like).");
        var note = name.Length == composed.Length ? null : $"\"{raw}\" was read as class \"{name}\" (surrounding whitespace removed)";
        return (name, note, null);
    }

    /// <summary>The name as <see cref="Normalize"/> would store it, for matching rows stored before names were
    /// normalised; never throws.</summary>
    public static string Key(string stored)
    {
        try
        {
            return stored.Normalize(NormalizationForm.FormC).Trim();
        }
        catch (ArgumentException)
        {
            return stored;
        }
    }

    /// <summary>Whether two class names differ only by case (they stay different classes; reports say so).</summary>
    public static bool DifferOnlyByCase(string a, string b) =>
        !string.Equals(a, b, StringComparison.Ordinal) && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
