using SkiaSharp;
using TransferHub.Imaging;

namespace TransferHub.Testing;

/// <summary>
/// Altered copies of a picture that a near-duplicate search must find (issue 13): resized to 50 % and 200 %, JPEG
/// re-encoded at quality 30 and 60, cropped by 5 % and 10 % (from one corner, so the framing moves too), and brightness
/// shifted by ±20 %. Each works on the decoded picture (alpha composited onto white, as every consumer sees it) and
/// returns an encoded file. Shared by the bench (bench --near-duplicates) and the tests (linked into both).
/// </summary>
public static class ImageAlterations
{
    public static readonly IReadOnlyList<(string Name, Func<byte[], byte[]> Alter)> All =
    [
        ("resized 50 %", data => Resize(data, 0.5)),
        ("resized 200 %", data => Resize(data, 2)),
        ("JPEG quality 30", data => Jpeg(data, 30)),
        ("JPEG quality 60", data => Jpeg(data, 60)),
        ("cropped 5 %", data => Crop(data, 0.05)),
        ("cropped 10 %", data => Crop(data, 0.10)),
        ("brightness +20 %", data => Brightness(data, 1.2f)),
        ("brightness −20 %", data => Brightness(data, 0.8f)),
    ];

    public static byte[] Resize(byte[] data, double scale)
    {
        using var image = ImageDecoder.Decode(data, "original.png");
        var size = new SKImageInfo(Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale)));
        using var resized = image.Bitmap.Resize(size, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        return Encode(resized, SKEncodedImageFormat.Png, 100);
    }

    public static byte[] Jpeg(byte[] data, int quality)
    {
        using var image = ImageDecoder.Decode(data, "original.png");
        return Encode(image.Bitmap, SKEncodedImageFormat.Jpeg, quality);
    }

    /// <summary>Removes <paramref name="fraction"/> of the width and of the height, from the top-left corner.</summary>
    public static byte[] Crop(byte[] data, double fraction)
    {
        using var image = ImageDecoder.Decode(data, "original.png");
        var (dx, dy) = ((int)Math.Round(image.Width * fraction), (int)Math.Round(image.Height * fraction));
        using var cropped = new SKBitmap();
        if (!image.Bitmap.ExtractSubset(cropped, new SKRectI(dx, dy, image.Width, image.Height)))
            throw new InvalidOperationException("Could not crop the picture.");
        return Encode(cropped, SKEncodedImageFormat.Png, 100);
    }

    /// <summary>Every colour channel times <paramref name="factor"/> (clipped to 255), white background included.</summary>
    public static byte[] Brightness(byte[] data, float factor)
    {
        using var image = ImageDecoder.Decode(data, "original.png");
        using var copy = image.Bitmap.Copy();
        var pixels = copy.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i++)
            if (i % 4 != 3) pixels[i] = (byte)Math.Min(255, MathF.Round(pixels[i] * factor));
        return Encode(copy, SKEncodedImageFormat.Png, 100);
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var encoded = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"Could not encode {format}.");
        return encoded.ToArray();
    }
}
