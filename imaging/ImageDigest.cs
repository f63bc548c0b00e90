using System.Numerics;
using SkiaSharp;

namespace TransferHub.Imaging;

/// <summary>What the web keeps of an accepted image besides its bytes: a thumbnail and a perceptual hash.</summary>
public static class ImageDigest
{
    /// <summary>A JPEG thumbnail whose longer side is at most <paramref name="maxSide"/> (never upscaled).</summary>
    public static byte[] Thumbnail(DecodedImage image, int maxSide = 256, int quality = 82)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(image.Width, image.Height));
        var width = Math.Max(1, (int)Math.Round(image.Width * scale));
        var height = Math.Max(1, (int)Math.Round(image.Height * scale));
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target))
        {
            canvas.DrawImage(image.Image, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        using var data = target.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    /// <summary>
    /// The 64-bit difference hash (dHash): the image shrunk to 9×8 grey pixels, one bit per horizontal neighbour
    /// pair (left brighter than right). Re-encoded, resized or slightly recoloured copies differ in few bits.
    /// </summary>
    public static ulong DifferenceHash(DecodedImage image)
    {
        using var small = new SKBitmap(new SKImageInfo(9, 8, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(small))
        {
            // Mipmaps average the whole area into the 72 pixels, as a box filter would.
            canvas.DrawImage(image.Image, new SKRect(0, 0, 9, 8), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        var pixels = small.GetPixelSpan();
        Span<int> grey = stackalloc int[72];
        for (var i = 0; i < 72; i++)
            grey[i] = 299 * pixels[4 * i] + 587 * pixels[4 * i + 1] + 114 * pixels[4 * i + 2];
        ulong hash = 0;
        for (var y = 0; y < 8; y++)
            for (var x = 0; x < 8; x++)
                if (grey[y * 9 + x] > grey[y * 9 + x + 1]) hash |= 1UL << (y * 8 + x);
        return hash;
    }

    /// <summary>How many of the 64 bits differ: 0 = same picture; about 32 = unrelated pictures.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);
}
