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
/// the heatmap (<see cref="Evaluation.ConfusionScale"/>, the web matrix's scale too).</summary>
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

    /// <summary>The heatmap's ramp: the confusion matrix's one colour scale, shared with the web page.</summary>
    public static readonly SKColor[] Heat = [.. Evaluation.ConfusionScale.Stops.Select(Sk)];

    /// <summary>The heatmap colour of a share in [0, 1] (<see cref="Evaluation.ConfusionScale.Of"/>).</summary>
    public static SKColor HeatOf(double share) => Sk(Evaluation.ConfusionScale.Of(share));

    /// <summary>The colour of a heatmap cell's count (<see cref="Evaluation.ConfusionScale.TextOf"/>): black or white by
    /// contrast with the shade, muted for zero.</summary>
    public static SKColor HeatTextOf(int count, double share) => Sk(Evaluation.ConfusionScale.TextOf(count, share));

    private static SKColor Sk(Evaluation.Rgb colour) => new(colour.R, colour.G, colour.B);
}
