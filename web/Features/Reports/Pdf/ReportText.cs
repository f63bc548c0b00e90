using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SkiaSharp;
using SkiaSharp.HarfBuzz;

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
/// Measures and draws text as real PDF text (SkiaSharp embeds a subset of each font used, so the text can be searched
/// and extracted). This is the one place the report draws text:
/// <list type="bullet">
/// <item>each character (grapheme) is drawn in the first installed of <see cref="PreferredFamilies"/> when it has a
/// glyph for it, else in the face fontconfig offers for that character (<see cref="SKFontManager.MatchCharacter(string, SKFontStyle, string[], int)"/>:
/// Noto Sans CJK for 猫, Noto Color Emoji for 🐱);</item>
/// <item>the line is split into runs by direction (<see cref="Bidi"/>, a small subset of UAX #9: strong letters, numbers
/// kept left-to-right inside right-to-left text, neutrals take their neighbours' direction) and by face, the runs are put
/// in visual order and each is shaped by HarfBuzz (<see cref="SKShaper"/>), so Hebrew reads right to left and Arabic
/// letters join;</item>
/// <item>each run carries its text and clusters, so the PDF's text layer holds the characters, not just glyphs.</item>
/// </list>
/// </summary>
internal static class ReportText
{
    public const string Ellipsis = "…";

    private static readonly string[] PreferredFamilies = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];
    private static readonly string[] EmojiFamilies = ["Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Noto Emoji"];
    private static readonly Lazy<SKTypeface?> EmojiFace = new(() => EmojiFamilies
        .Select(f => SKFontManager.Default.MatchFamily(f))
        .FirstOrDefault(f => f is not null && EmojiFamilies.Contains(f.FamilyName)));
    private static readonly Lazy<SKTypeface> Regular = new(() => Resolve(SKFontStyle.Normal));
    private static readonly Lazy<SKTypeface> Bold = new(() => Resolve(SKFontStyle.Bold));
    private static readonly ConcurrentDictionary<(int CodePoint, bool Bold), SKTypeface> Fallbacks = new();
    private static readonly ConcurrentDictionary<(string, int, int, SKFontStyleSlant), SKTypeface> Canonicals = new();
    private static readonly ConcurrentDictionary<SKTypeface, SKShaper> Shapers = new();
    private static readonly ConcurrentDictionary<SKTypeface, SKFont> CoverageFonts = new();

    /// <summary>One shaped run: glyphs of one face in one direction, positioned from the line's start (x = 0).</summary>
    internal sealed record ShapedRun(SKTypeface Typeface, bool RightToLeft, string Text, ushort[] Glyphs, uint[] Clusters,
        SKPoint[] Positions, float Width);

    /// <summary>A line of text as it will be drawn: its runs in visual order (left to right) and its width.</summary>
    internal sealed record ShapedLine(IReadOnlyList<ShapedRun> Runs, float Width);

    public static float Width(string text, TextStyle style) => Shape(text, style).Width;

    public static void Draw(SKCanvas canvas, string text, float x, float baseline, TextStyle style,
        SKTextAlign align = SKTextAlign.Left)
    {
        if (text.Length == 0)
            return;
        var line = Shape(text, style);
        var left = align switch
        {
            SKTextAlign.Center => x - line.Width / 2,
            SKTextAlign.Right => x - line.Width,
            _ => x,
        };
        using var blob = Blob(line, style);
        if (blob is null)
            return;
        using var paint = new SKPaint { Color = style.Ink, IsAntialias = true };
        canvas.DrawText(blob, left, baseline, paint);
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

    /// <summary>Shapes one line: fallback faces, bidi runs in visual order, HarfBuzz glyphs and positions.</summary>
    internal static ShapedLine Shape(string text, TextStyle style)
    {
        var elements = TextElements(text);
        if (elements.Count == 0)
            return new ShapedLine([], 0);
        var levels = Bidi.Levels(elements);
        var faces = Faces(elements, style.Bold);

        // Logical runs: same level, same face.
        var runs = new List<(int Start, int End, int Level, SKTypeface Face)>();
        for (var i = 0; i < elements.Count; i++)
        {
            if (runs.Count > 0 && runs[^1].Level == levels[i] && runs[^1].Face == faces[i])
                runs[^1] = runs[^1] with { End = i + 1 };
            else
                runs.Add((i, i + 1, levels[i], faces[i]));
        }
        var visual = Bidi.VisualOrder(runs.Select(r => r.Level).ToList());

        var shaped = new List<ShapedRun>();
        var x = 0f;
        foreach (var index in visual)
        {
            var run = runs[index];
            var runText = string.Concat(elements.Skip(run.Start).Take(run.End - run.Start));
            var piece = ShapeRun(runText, run.Face, run.Level % 2 == 1, style.Size, x);
            shaped.Add(piece);
            x += piece.Width;
        }
        return new ShapedLine(shaped, x);
    }

    private static ShapedRun ShapeRun(string text, SKTypeface face, bool rightToLeft, float size, float x)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        using var buffer = new HarfBuzzSharp.Buffer();
        buffer.AddUtf8(utf8); // clusters are byte offsets into utf8: what a text blob's run wants
        buffer.Direction = rightToLeft ? HarfBuzzSharp.Direction.RightToLeft : HarfBuzzSharp.Direction.LeftToRight;
        buffer.GuessSegmentProperties();
        using var font = Font(face, size);
        var result = Shapers.GetOrAdd(face, f => new SKShaper(f)).Shape(buffer, x, 0, font);
        return new ShapedRun(face, rightToLeft, text, [.. result.Codepoints.Select(g => (ushort)g)], result.Clusters,
            result.Points, result.Width);
    }

    private static SKTextBlob? Blob(ShapedLine line, TextStyle style)
    {
        using var builder = new SKTextBlobBuilder();
        var any = false;
        var subsets = FontSubsets.Current;
        foreach (var run in line.Runs.Where(r => r.Glyphs.Length > 0))
        {
            subsets?.Record(run.Typeface, run.Glyphs, run.Text);
            using var font = Font(subsets?.Face(run.Typeface) ?? run.Typeface, style.Size);
            var utf8 = Encoding.UTF8.GetBytes(run.Text);
            var buffer = builder.AllocatePositionedTextRun(font, run.Glyphs.Length, utf8.Length);
            buffer.SetGlyphs(run.Glyphs);
            buffer.SetPositions(run.Positions);
            buffer.SetText(utf8);
            buffer.SetClusters(run.Clusters);
            any = true;
        }
        return any ? builder.Build() : null;
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

    /// <summary>The text, or its start and its end around an ellipsis, keeping about as much of the end as of the
    /// start (names that differ at their end, "… type A" and "… type B", stay apart).</summary>
    public static string EllipsizeMiddle(string text, TextStyle style, float maxWidth)
    {
        if (Width(text, style) <= maxWidth)
            return text;
        var elements = TextElements(text);
        string Kept(int count)
        {
            var tail = (count + 1) / 2;
            return string.Concat(elements.Take(count - tail)).TrimEnd() + Ellipsis + string.Concat(elements.Skip(elements.Count - tail)).TrimStart();
        }
        var (low, high) = (0, elements.Count - 1);
        while (low < high) // the most characters (in whole graphemes) that fit with the ellipsis
        {
            var middle = (low + high + 1) / 2;
            if (Width(Kept(middle), style) <= maxWidth)
                low = middle;
            else
                high = middle - 1;
        }
        return Kept(low);
    }

    /// <summary>Breaks text into lines that fit, at spaces where possible; the last allowed line is ellipsized.</summary>
    public static IReadOnlyList<string> Wrap(string text, TextStyle style, float maxWidth, int maxLines = int.MaxValue)
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

    internal static List<string> TextElements(string text)
    {
        var elements = new List<string>();
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
            elements.Add(enumerator.GetTextElement());
        return elements;
    }

    // Unhinted, linear metrics: the advances Skia lays text out with are the font's own, the same widths the PDF
    // viewer (and pdftotext) uses, so words are neither squeezed nor split ("R un").
    private static SKFont Font(SKTypeface face, float size) => new(face, size)
    {
        Subpixel = true,
        LinearMetrics = true,
        Hinting = SKFontHinting.None,
        Edging = SKFontEdging.Antialias,
    };

    /// <summary>The face of each element: the preferred face when it has the glyphs, a fallback for the character
    /// otherwise; spaces and punctuation stay in the face before them when it has them (fewer, longer runs).</summary>
    private static List<SKTypeface> Faces(IReadOnlyList<string> elements, bool bold)
    {
        var primary = bold ? Bold.Value : Regular.Value;
        var faces = new List<SKTypeface>(elements.Count);
        foreach (var element in elements)
        {
            var first = Rune.GetRuneAt(element, 0);
            var previous = faces.Count > 0 ? faces[^1] : null;
            SKTypeface face;
            if (previous is not null && previous != primary && IsNeutral(first) && Covers(previous, element))
                face = previous;
            else if (IsEmoji(element) && EmojiFace.Value is { } emoji && Covers(emoji, element))
                face = emoji;
            else if (Covers(primary, element))
                face = primary;
            else
                face = Fallback(primary, first.Value, bold, element);
            faces.Add(face);
        }
        return faces;
    }

    private static SKTypeface Fallback(SKTypeface primary, int codePoint, bool bold, string element)
    {
        var face = Fallbacks.GetOrAdd((codePoint, bold), key => Canonical(SKFontManager.Default.MatchCharacter(
            primary.FamilyName, bold ? SKFontStyle.Bold : SKFontStyle.Normal, null, key.CodePoint) ?? primary));
        return Covers(face, element) || !Covers(primary, element) ? face : primary;
    }

    /// <summary>One instance per family and style, so the characters of one fallback font share one shaper (which holds
    /// the font file in memory: Noto Sans CJK is 20 MB) and one font in the PDF.</summary>
    private static SKTypeface Canonical(SKTypeface face) =>
        Canonicals.GetOrAdd((face.FamilyName, face.FontWeight, face.FontWidth, face.FontSlant), _ => face);

    /// <summary>Whether the face has a glyph for every visible character of the element (joiners and variation
    /// selectors are the shaper's business).</summary>
    private static bool Covers(SKTypeface face, string element)
    {
        var font = CoverageFonts.GetOrAdd(face, f => new SKFont(f));
        foreach (var rune in element.EnumerateRunes())
        {
            if (Rune.IsControl(rune) || IsFormat(rune))
                continue;
            lock (font)
                if (!font.ContainsGlyph(rune.Value))
                    return false;
        }
        return true;
    }

    private static bool IsFormat(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
        || rune.Value is >= 0xFE00 and <= 0xFE0F || rune.Value is >= 0x1F3FB and <= 0x1F3FF;

    private static bool IsNeutral(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.SpaceSeparator or UnicodeCategory.OtherPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation;

    /// <summary>A pictograph (or a sequence asking for emoji presentation) is drawn with the emoji font even when the
    /// text face has a monochrome glyph for it.</summary>
    private static bool IsEmoji(string element)
    {
        var first = Rune.GetRuneAt(element, 0).Value;
        return first is >= 0x1F000 and <= 0x1FAFF || element.Contains('\uFE0F', StringComparison.Ordinal);
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
