using System.Buffers;
using System.Globalization;
using System.Text;

namespace TransferHub.Web.Features;

/// <summary>One CSV cell: text (any string converts to it implicitly, so text is neutralised unless a caller says
/// otherwise) or a number the product formatted itself (<see cref="Number(double)"/>), written as is.</summary>
public readonly struct CsvCell
{
    private CsvCell(string value, bool isNumber) => (Value, IsNumber) = (value, isNumber);

    internal string Value { get; }

    internal bool IsNumber { get; }

    /// <summary>Text, possibly from users (class names, file names): neutralised by <see cref="SafeCsv"/>.</summary>
    public static implicit operator CsvCell(string text) => new(text ?? "", isNumber: false);

    /// <summary>A number the product computed, in the invariant culture, round-tripping exactly ("R"): "-0.5" stays a
    /// number a spreadsheet can sum, not text with a leading quote.</summary>
    public static CsvCell Number(double value) => new(value.ToString("R", CultureInfo.InvariantCulture), isNumber: true);

    /// <inheritdoc cref="Number(double)"/>
    public static CsvCell Number(long value) => new(value.ToString(CultureInfo.InvariantCulture), isNumber: true);
}

/// <summary>
/// The one CSV writer of the product: every CSV it serves is written here, so that spreadsheets open them safely.
/// <list type="bullet">
/// <item>CSV injection (OWASP, https://owasp.org/www-community/attacks/CSV_Injection): a text cell that starts with
/// <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab (0x09) or carriage return (0x0D) is prefixed with a single quote
/// <c>'</c>, so that Excel, LibreOffice and Google Sheets show it as text instead of evaluating a formula
/// (<c>=1+2</c> is written <c>'=1+2</c>). This applies to every text cell (class names, file names, labels); numbers
/// the product formats itself (<see cref="CsvCell.Number(double)"/>) are written as numbers, since OWASP's rule is
/// about untrusted data and a quoted "-0.5" would no longer be a number. The exact strings stay in evaluation.json.</item>
/// <item>RFC 4180: a cell that holds a comma, a double quote, CR or LF is wrapped in double quotes with its quotes
/// doubled; so is one that holds a semicolon or a tab, so that a spreadsheet splitting on those (OWASP's note on
/// separators) cannot start a new cell inside it.</item>
/// <item>Records end with <c>\n</c>.</item>
/// </list>
/// CsvHelper (its <c>InjectionOptions.Escape</c> does the same prefixing) was considered and not taken: it applies the
/// prefix to every field, product-written numbers included, and two small tables do not need a dependency.
/// </summary>
public sealed class SafeCsv
{
    private static readonly SearchValues<char> Dangerous = SearchValues.Create("=+-@\t\r");
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(",\"\r\n;\t");

    private readonly StringBuilder _csv = new();

    /// <summary>Appends one record.</summary>
    public SafeCsv Record(params ReadOnlySpan<CsvCell> cells)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
                _csv.Append(',');
            _csv.Append(Field(cells[i]));
        }
        _csv.Append('\n');
        return this;
    }

    public override string ToString() => _csv.ToString();

    /// <summary>A cell as it is written between the commas.</summary>
    public static string Field(CsvCell cell)
    {
        var value = cell.IsNumber ? cell.Value : Neutralise(cell.Value);
        return value.AsSpan().IndexOfAny(NeedsQuotes) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }

    /// <summary>Text as a spreadsheet must not evaluate it: with a leading <c>'</c> when it starts with a formula
    /// character (see the class summary).</summary>
    public static string Neutralise(string text) => text.Length > 0 && Dangerous.Contains(text[0]) ? "'" + text : text;
}
