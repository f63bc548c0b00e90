using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>A text size, weight and colour.</summary>
internal readonly record struct TextStyle(float Size, bool Bold = false, SKColor? Color = null)
{
    public SKColor Ink => Color ?? ReportColors.Ink;

    /// <summary>The distance between two baselines.</summary>
    public float LineHeight => Size * 1.3f;

    /// <summary>How far below a middle line to put the baseline so that digits and capitals are centred on it.</summary>
    public float CenteringOffset => Size * 0.36f;

    public TextStyle WithColor(SKColor color) => this with { Color = color };
}

/// <summary>
/// Measures and draws text as real PDF text (SkiaSharp embeds the font subset, so the text can be searched and
/// extracted). The face is the first installed of <see cref="PreferredFamilies"/>; a string with a character that
/// face lacks (say a class name in Chinese) is drawn in a face fontconfig finds for that character.
/// </summary>
internal static class ReportText
{
    public const string Ellipsis = "…";

    private static readonly string[] PreferredFamilies = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];
    private static readonly Lazy<SKTypeface> Regular = new(() => Resolve(SKFontStyle.Normal));
    private static readonly Lazy<SKTypeface> Bold = new(() => Resolve(SKFontStyle.Bold));
    private static readonly ConcurrentDictionary<(int CodePoint, bool Bold), SKTypeface> Fallbacks = new();

    public static float Width(string text, TextStyle style)
    {
        using var font = Font(text, style);
        return font.MeasureText(text);
    }

    public static void Draw(SKCanvas canvas, string text, float x, float baseline, TextStyle style,
        SKTextAlign align = SKTextAlign.Left)
    {
        if (text.Length == 0)
            return;
        using var font = Font(text, style);
        using var paint = new SKPaint { Color = style.Ink, IsAntialias = true };
        canvas.DrawText(text, x, baseline, align, font, paint);
    }

    /// <summary>Draws text turned 90° anticlockwise, reading upwards, starting at (x, y) (the baseline runs up from
    /// there); <paramref name="align"/> is along the reading direction.</summary>
    public static void DrawUpwards(SKCanvas canvas, string text, float x, float y, TextStyle style,
        SKTextAlign align = SKTextAlign.Left)
    {
        canvas.Save();
        canvas.Translate(x, y);
        canvas.RotateDegrees(-90);
        Draw(canvas, text, 0, 0, style, align);
        canvas.Restore();
    }

    /// <summary>The text, or as much of it as fits followed by an ellipsis.</summary>
    public static string Ellipsize(string text, TextStyle style, float maxWidth)
    {
        if (Width(text, style) <= maxWidth)
            return text;
        var elements = TextElements(text);
        var (low, high) = (0, elements.Count);
        while (low < high) // the longest prefix (in whole characters) that fits with the ellipsis
        {
            var middle = (low + high + 1) / 2;
            if (Width(string.Concat(elements.Take(middle)) + Ellipsis, style) <= maxWidth)
                low = middle;
            else
                high = middle - 1;
        }
        return string.Concat(elements.Take(low)).TrimEnd() + Ellipsis;
    }

    /// <summary>Breaks text into lines that fit, at spaces where possible; the last allowed line is ellipsized.</summary>
    public static IReadOnlyList<string> Wrap(string text, TextStyle style, float maxWidth, int maxLines)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = line.Length == 0 ? word : $"{line} {word}";
            if (Width(candidate, style) <= maxWidth)
            {
                line.Clear().Append(candidate);
                continue;
            }
            if (line.Length > 0)
                lines.Add(line.ToString());
            line.Clear();
            foreach (var piece in BreakWord(word, style, maxWidth))
            {
                if (line.Length > 0)
                    lines.Add(line.ToString());
                line.Clear().Append(piece);
            }
        }
        if (line.Length > 0)
            lines.Add(line.ToString());
        if (lines.Count <= maxLines)
            return lines;
        var kept = lines.Take(maxLines).ToList();
        kept[^1] = Ellipsize(string.Join(' ', lines.Skip(maxLines - 1)), style, maxWidth);
        return kept;
    }

    /// <summary>Splits a word too long for one line into pieces that each fit.</summary>
    private static IEnumerable<string> BreakWord(string word, TextStyle style, float maxWidth)
    {
        var piece = new StringBuilder();
        foreach (var element in TextElements(word))
        {
            if (piece.Length > 0 && Width(piece + element, style) > maxWidth)
            {
                yield return piece.ToString();
                piece.Clear();
            }
            piece.Append(element);
        }
        if (piece.Length > 0)
            yield return piece.ToString();
    }

    private static List<string> TextElements(string text)
    {
        var elements = new List<string>();
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
            elements.Add(enumerator.GetTextElement());
        return elements;
    }

    // Unhinted, linear metrics: the advances Skia lays text out with are the font's own, the same widths the PDF
    // viewer (and pdftotext) uses, so words are neither squeezed nor split ("R un").
    private static SKFont Font(string text, TextStyle style) => new(FaceFor(text, style.Bold), style.Size)
    {
        Subpixel = true,
        LinearMetrics = true,
        Hinting = SKFontHinting.None,
        Edging = SKFontEdging.Antialias,
    };

    private static SKTypeface FaceFor(string text, bool bold)
    {
        var face = bold ? Bold.Value : Regular.Value;
        var missing = FirstMissing(face, text);
        return missing is { } codePoint
            ? Fallbacks.GetOrAdd((codePoint, bold), key => SKFontManager.Default.MatchCharacter(
                face.FamilyName, bold ? SKFontStyle.Bold : SKFontStyle.Normal, null, key.CodePoint) ?? face)
            : face;
    }

    private static int? FirstMissing(SKTypeface face, string text)
    {
        using var font = new SKFont(face);
        foreach (var rune in text.EnumerateRunes())
            if (!Rune.IsControl(rune) && !font.ContainsGlyph(rune.Value))
                return rune.Value;
        return null;
    }

    private static SKTypeface Resolve(SKFontStyle style)
    {
        foreach (var family in PreferredFamilies)
            if (SKFontManager.Default.MatchFamily(family, style) is { } face && CanWrite(face))
                return face;
        return CanWrite(SKTypeface.Default)
            ? SKTypeface.Default
            : throw new InvalidOperationException(
                "The PDF report needs a TrueType font and none is installed (on Debian: apt-get install fonts-dejavu-core).");
    }

    private static bool CanWrite(SKTypeface face)
    {
        using var font = new SKFont(face);
        return font.ContainsGlyphs("Aa0.%");
    }
}
