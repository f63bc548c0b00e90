using System.Globalization;
using System.Text;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>
/// The part of the Unicode bidirectional algorithm (UAX #9) that one line of a report needs, on grapheme clusters:
/// strong left-to-right letters (L) and right-to-left letters (R: Hebrew, Arabic, Syriac, Thaana, N'Ko…), numbers (with
/// the separators and signs that belong to them, W4–W5) that stay left to right inside right-to-left text, the
/// paragraph direction from the first strong letter (P2–P3), numbers after left-to-right text taken as left to right
/// (W7), neutrals between two equal directions taking it and others the paragraph's (N1–N2), the implicit levels
/// (I1–I2) and reordering (L2). Explicit embeddings, isolates and bracket pairs are not needed for class names and are
/// not handled.
/// </summary>
internal static class Bidi
{
    private enum Kind { L, R, Number, Neutral }

    /// <summary>The embedding level of each element (even: left to right, odd: right to left).</summary>
    public static int[] Levels(IReadOnlyList<string> elements)
    {
        var kinds = elements.Select(e => KindOf(Rune.GetRuneAt(e, 0))).ToArray();
        NumberSeparators(elements, kinds);

        var paragraph = kinds.FirstOrDefault(k => k is Kind.L or Kind.R, Kind.L);
        var baseLevel = paragraph == Kind.R ? 1 : 0;

        // W7: a number whose last strong letter before it (or the paragraph) is left to right is left to right.
        var lastStrong = paragraph;
        for (var i = 0; i < kinds.Length; i++)
        {
            if (kinds[i] is Kind.L or Kind.R)
                lastStrong = kinds[i];
            else if (kinds[i] == Kind.Number && lastStrong == Kind.L)
                kinds[i] = Kind.L;
        }

        // N1–N2: a run of neutrals between the same direction takes it (numbers count as right to left), else the paragraph's.
        for (var i = 0; i < kinds.Length; i++)
        {
            if (kinds[i] != Kind.Neutral)
                continue;
            var end = i;
            while (end < kinds.Length && kinds[end] == Kind.Neutral)
                end++;
            var before = i == 0 ? paragraph : Direction(kinds[i - 1]);
            var after = end == kinds.Length ? paragraph : Direction(kinds[end]);
            var resolved = before == after ? before : paragraph;
            for (var j = i; j < end; j++)
                kinds[j] = resolved;
            i = end - 1;
        }

        // I1–I2.
        return [.. kinds.Select(k => (baseLevel % 2, k) switch
        {
            (0, Kind.R) => baseLevel + 1,
            (0, Kind.Number) => baseLevel + 2,
            (1, Kind.L) or (1, Kind.Number) => baseLevel + 1,
            _ => baseLevel,
        })];
    }

    /// <summary>L2: the indices of runs (given by their levels, in logical order) in visual order, left to right.</summary>
    public static IReadOnlyList<int> VisualOrder(IReadOnlyList<int> levels)
    {
        var order = Enumerable.Range(0, levels.Count).ToArray();
        if (levels.Count == 0)
            return order;
        var lowestOdd = levels.Where(l => l % 2 == 1).DefaultIfEmpty(int.MaxValue).Min();
        for (var level = levels.Max(); level >= lowestOdd && level > 0; level--)
        {
            for (var i = 0; i < order.Length; i++)
            {
                if (levels[order[i]] < level)
                    continue;
                var end = i;
                while (end < order.Length && levels[order[end]] >= level)
                    end++;
                Array.Reverse(order, i, end - i);
                i = end;
            }
        }
        return order;
    }

    private static Kind Direction(Kind kind) => kind == Kind.Number ? Kind.R : kind;

    /// <summary>W4–W5: one "." "," ":" "/" between two digits, and "%" "+" "-" "#" "°" and currency signs next to a number,
    /// belong to the number ("3.5", "-4", "45%").</summary>
    private static void NumberSeparators(IReadOnlyList<string> elements, Kind[] kinds)
    {
        for (var i = 1; i + 1 < kinds.Length; i++)
            if (kinds[i] == Kind.Neutral && kinds[i - 1] == Kind.Number && kinds[i + 1] == Kind.Number
                && elements[i] is "." or "," or ":" or "/" or "\u066B" or "\u066C")
                kinds[i] = Kind.Number;
        for (var pass = 0; pass < 2; pass++) // forwards then backwards, so "-" before and "%" after both join
            for (var step = 0; step < kinds.Length; step++)
            {
                var i = pass == 0 ? step : kinds.Length - 1 - step;
                var neighbour = pass == 0 ? i - 1 : i + 1;
                if (neighbour < 0 || neighbour >= kinds.Length || kinds[i] != Kind.Neutral || kinds[neighbour] != Kind.Number)
                    continue;
                var rune = Rune.GetRuneAt(elements[i], 0);
                if (rune.Value is '%' or '+' or '-' or '#' or '°' or '\u2212' or '\u066A'
                    || Rune.GetUnicodeCategory(rune) == UnicodeCategory.CurrencySymbol)
                    kinds[i] = Kind.Number;
            }
    }

    private static Kind KindOf(Rune rune)
    {
        var value = rune.Value;
        if (value is >= 0x0660 and <= 0x0669 or >= 0x06F0 and <= 0x06F9 || Rune.IsDigit(rune))
            return Kind.Number;
        if (IsRightToLeftBlock(value))
            return Rune.IsLetter(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.OtherPunctuation
                ? Kind.R
                : Kind.Neutral;
        if (value is 0x200F) // RIGHT-TO-LEFT MARK
            return Kind.R;
        if (value is 0x200E) // LEFT-TO-RIGHT MARK
            return Kind.L;
        return Rune.IsLetter(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.SpacingCombiningMark or UnicodeCategory.LetterNumber
            ? Kind.L
            : Kind.Neutral;
    }

    // Hebrew, Arabic, Syriac, Arabic Supplement, Thaana, N'Ko, Samaritan, Mandaic, Syriac Supplement, Arabic Extended-B/A,
    // Hebrew and Arabic presentation forms, and the right-to-left scripts of the supplementary planes.
    private static bool IsRightToLeftBlock(int value) =>
        value is >= 0x0590 and <= 0x08FF
            or >= 0xFB1D and <= 0xFDFF
            or >= 0xFE70 and <= 0xFEFF
            or >= 0x10800 and <= 0x10FFF
            or >= 0x1E800 and <= 0x1EFFF;
}
