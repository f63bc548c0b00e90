using System.Text;

namespace TransferHub.Web.Tests.Reports;

/// <summary>A strict RFC 4180 reader (quoted fields may hold commas, doubled quotes and line breaks), written
/// independently of the renderer so that the tests read its CSV the way a spreadsheet would.</summary>
public static class Rfc4180
{
    public static List<string[]> Parse(string csv)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < csv.Length)
        {
            if (csv[i] == '"' && field.Length == 0)
            {
                i++;
                while (true)
                {
                    if (i >= csv.Length)
                        throw new FormatException("A quoted field is not closed.");
                    if (csv[i] == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                        (field, i) = (field.Append('"'), i + 2);
                    else if (csv[i] == '"')
                        break;
                    else
                        (field, i) = (field.Append(csv[i]), i + 1);
                }
                i++;
                if (i < csv.Length && csv[i] is not (',' or '\n'))
                    throw new FormatException($"Text after a closing quote at {i}.");
                continue;
            }
            switch (csv[i])
            {
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    records.Add([.. fields]);
                    fields.Clear();
                    break;
                case '"':
                    throw new FormatException($"A quote inside an unquoted field at {i}.");
                default:
                    field.Append(csv[i]);
                    break;
            }
            i++;
        }
        if (field.Length > 0 || fields.Count > 0)
            throw new FormatException("The last record does not end with a line break.");
        return records;
    }
}
