using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The A4 portrait page in PDF points (1/72 inch) and the shared vertical rhythm of its parts.</summary>
internal static class PageLayout
{
    public const float Width = 595.28f;
    public const float Height = 841.89f;
    public const float Margin = 44;
    public const float FooterHeight = 26;

    public const float HeadingSize = 15;
    public const float HeadingGap = 14;
    public const float SubheadingSize = 9;
    public const float BodySize = 9.5f;
    public const float SmallSize = 7;

    /// <summary>Where a page's content goes: inside the margins, above the footer.</summary>
    public static SKRect Content => new(Margin, Margin, Width - Margin, Height - Margin - FooterHeight);
}

/// <summary>The report's colours: dark ink on white, one blue and one orange for the two curves, blue shades for
/// the heatmap (the "Blues" ramp, readable in greyscale print).</summary>
internal static class ReportColors
{
    public static readonly SKColor Ink = new(0x1F, 0x29, 0x33);
    public static readonly SKColor Muted = new(0x61, 0x6E, 0x7C);
    public static readonly SKColor Rule = new(0xCB, 0xD2, 0xD9);
    public static readonly SKColor Grid = new(0xE4, 0xE7, 0xEB);
    public static readonly SKColor Stripe = new(0xF5, 0xF7, 0xFA);
    public static readonly SKColor Tile = new(0xEE, 0xF2, 0xF7);
    public static readonly SKColor Train = new(0x1F, 0x77, 0xB4);
    public static readonly SKColor Validation = new(0xE8, 0x59, 0x0C);
    public static readonly SKColor Marker = new(0x7B, 0x87, 0x94);

    public static readonly SKColor[] Heat =
    [
        new(0xF7, 0xFB, 0xFF), new(0xDE, 0xEB, 0xF7), new(0xC6, 0xDB, 0xEF), new(0x9E, 0xCA, 0xE1), new(0x6B, 0xAE, 0xD6),
        new(0x42, 0x92, 0xC6), new(0x21, 0x71, 0xB5), new(0x08, 0x51, 0x9C), new(0x08, 0x30, 0x6B),
    ];

    /// <summary>The heatmap colour of a share in [0, 1], interpolated along <see cref="Heat"/>.</summary>
    public static SKColor HeatOf(double share)
    {
        var position = Math.Clamp(share, 0, 1) * (Heat.Length - 1);
        var low = (int)Math.Floor(position);
        if (low >= Heat.Length - 1)
            return Heat[^1];
        var t = (float)(position - low);
        var (a, b) = (Heat[low], Heat[low + 1]);
        return new SKColor(Lerp(a.Red, b.Red, t), Lerp(a.Green, b.Green, t), Lerp(a.Blue, b.Blue, t));
    }

    /// <summary>Text drawn on a heatmap cell: white from the middle of the ramp on.</summary>
    public static bool NeedsLightText(double share) => share >= 0.5;

    private static byte Lerp(byte a, byte b, float t) => (byte)Math.Round(a + (b - a) * t);
}
