using System.Globalization;

namespace TransferHub.Web.Features.Evaluation;

/// <summary>An sRGB colour, with the WCAG 2.1 relative luminance and contrast ratio.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>"#08519C".</summary>
    public string Hex => string.Create(CultureInfo.InvariantCulture, $"#{R:X2}{G:X2}{B:X2}");

    /// <summary>WCAG 2.1 relative luminance, 0 (black) to 1 (white).</summary>
    public double Luminance => 0.2126 * Linear(R) + 0.7152 * Linear(G) + 0.0722 * Linear(B);

    /// <summary>WCAG 2.1 contrast ratio between two colours, 1 to 21 (AA asks 4.5 for normal text).</summary>
    public static double Contrast(Rgb a, Rgb b)
    {
        var (la, lb) = (a.Luminance, b.Luminance);
        return (Math.Max(la, lb) + 0.05) / (Math.Min(la, lb) + 0.05);
    }

    private static double Linear(byte channel)
    {
        var c = channel / 255.0;
        return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
    }
}

/// <summary>
/// The one colour scale of a confusion matrix, used by the web page and the PDF report alike: a cell is shaded by its
/// share of the true class's images (row-normalised, so small classes read like large ones) along ColorBrewer's
/// "Blues" ramp (sequential, readable in greyscale print and by colour-blind readers), and its number is written in
/// black or white, whichever contrasts more with that shade. Black and white between them always reach WCAG AA
/// (4.5:1) on any background (the worse of the two is at least 4.58:1), which tests check for every colour the scale
/// can produce. Empty cells show their zero in <see cref="ZeroText"/>, muted but still AA on <see cref="Empty"/>.
/// </summary>
public static class ConfusionScale
{
    /// <summary>The ramp's colours from share 0 to share 1, evenly spaced.</summary>
    public static readonly IReadOnlyList<Rgb> Stops =
    [
        new(0xF7, 0xFB, 0xFF), new(0xDE, 0xEB, 0xF7), new(0xC6, 0xDB, 0xEF), new(0x9E, 0xCA, 0xE1), new(0x6B, 0xAE, 0xD6),
        new(0x42, 0x92, 0xC6), new(0x21, 0x71, 0xB5), new(0x08, 0x51, 0x9C), new(0x08, 0x30, 0x6B),
    ];

    public static readonly Rgb Black = new(0, 0, 0);
    public static readonly Rgb White = new(0xFF, 0xFF, 0xFF);

    /// <summary>The background of a cell with no images (the ramp's lightest colour).</summary>
    public static Rgb Empty => Stops[0];

    /// <summary>The "0" of an empty cell: quieter than the counts, still 5.2:1 on <see cref="Empty"/>.</summary>
    public static readonly Rgb ZeroText = new(0x5F, 0x6B, 0x7A);

    /// <summary>The colour of a share in [0, 1] (clamped), interpolated between the two nearest <see cref="Stops"/>.</summary>
    public static Rgb Of(double share)
    {
        var position = (double.IsNaN(share) ? 0 : Math.Clamp(share, 0, 1)) * (Stops.Count - 1);
        var low = (int)Math.Floor(position);
        if (low >= Stops.Count - 1) return Stops[^1];
        var t = position - low;
        var (a, b) = (Stops[low], Stops[low + 1]);
        return new Rgb(Lerp(a.R, b.R, t), Lerp(a.G, b.G, t), Lerp(a.B, b.B, t));
    }

    /// <summary>The text colour on <paramref name="background"/>: black or white, whichever contrasts more.</summary>
    public static Rgb TextOn(Rgb background) =>
        Rgb.Contrast(background, Black) >= Rgb.Contrast(background, White) ? Black : White;

    /// <summary>The colour of a cell's number: <see cref="ZeroText"/> for an empty cell, else <see cref="TextOn(Rgb)"/> its shade.</summary>
    public static Rgb TextOf(int count, double share) => count == 0 ? ZeroText : TextOn(Of(share));

    /// <summary>A cell's share of its row (0 for an empty row).</summary>
    public static double Share(long count, long rowTotal) => rowTotal > 0 ? (double)count / rowTotal : 0;

    /// <summary>The ramp as a CSS linear gradient from left (0) to right (1), for a legend.</summary>
    public static string CssGradient => $"linear-gradient(to right, {string.Join(", ", Stops.Select(s => s.Hex))})";

    private static byte Lerp(byte a, byte b, double t) => (byte)Math.Round(a + (b - a) * t);
}
