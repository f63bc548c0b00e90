using System.Runtime.InteropServices;
using SkiaSharp;

namespace TransferHub.Imaging;

/// <summary>
/// Turns file bytes into a <see cref="DecodedImage"/> with SkiaSharp's <see cref="SKCodec"/>: converts to sRGB,
/// applies the EXIF orientation (JPEG and WebP through the codec, PNG's <c>eXIf</c> chunk read here), composites
/// transparency onto white. Every failure is an <see cref="ImageDecodeException"/> whose reason names the problem; a
/// file the decoder could not read to its end is always refused with <see cref="TruncatedReason"/>.
/// Thread-safe (no shared mutable state).
/// </summary>
public static class ImageDecoder
{
    /// <summary>The formats a user may upload, in words.</summary>
    public const string SupportedFormats = "JPEG, PNG, WebP, GIF and BMP";

    /// <summary>
    /// The one reason given for a file that ends before its image does (an interrupted upload or copy), whatever the
    /// format and however it was noticed: the format's end marker is missing (JPEG EOI, PNG IEND, the WebP RIFF
    /// payload, the GIF trailer, a BMP's pixel rows; see docs/decisions/006-shared-imaging-library.md) or the codec
    /// reports incomplete input. The web importer, the worker's upload, training and predict all report these words.
    /// </summary>
    /// <param name="format">The format's name as in <see cref="DecodedImage.Format"/>, e.g. "JPEG".</param>
    public static string TruncatedReason(string format) =>
        $"the file is truncated or corrupt: the {format} data ends before the image is complete (an interrupted upload or copy?).";

    internal static readonly SKColorSpace Srgb = SKColorSpace.CreateSrgb();

    /// <summary>
    /// Decodes JPEG (baseline or progressive), PNG (palette, alpha, interlaced), WebP (lossy, lossless, animated: its
    /// first frame), GIF (its first frame) or BMP; throws <see cref="ImageDecodeException"/>, with
    /// <see cref="TruncatedReason"/> for a file that is cut anywhere, including in a later animation frame.
    /// </summary>
    /// <param name="maxPixels">Images with more pixels (width × height of the file) are rejected before any pixel memory is allocated.</param>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels = 64_000_000)
        => Decode(data, name, maxPixels, minShortSide: 0);

    /// <summary>
    /// As <see cref="Decode(ReadOnlySpan{byte}, string, long)"/>, but a JPEG whose short side is at least twice
    /// <paramref name="minShortSide"/> is decoded at a reduced scale (1/2 … 1/8, libjpeg's DCT scaling, several times
    /// faster) as long as the result's short side stays ≥ <paramref name="minShortSide"/>. Other formats decode at
    /// full size. The pixel limit always applies to the file's full dimensions. 0 means full size.
    /// </summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels, int minShortSide)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minShortSide);
        if (data.IsEmpty)
            throw new ImageDecodeException(name, "the file is empty (0 bytes).");

        var sniffed = Sniff(data);
        // Before the codec: SKCodec decodes what a cut progressive JPEG, a PNG missing its IEND or a GIF missing its
        // trailer holds and reports success, so the container must be whole first (see EncodedStructure).
        if (sniffed is not null && EncodedStructure.Check(sniffed, data) == StreamEnd.Truncated)
            throw new ImageDecodeException(name, TruncatedReason(sniffed));
        using var skData = SKData.CreateCopy(data);
        using var stream = new SKMemoryStream(skData);
        using var codec = SKCodec.Create(stream, out var createResult);
        if (codec is null)
            throw new ImageDecodeException(name, DescribeUnreadable(sniffed, createResult));

        var format = FormatName(codec.EncodedFormat)
            ?? throw new ImageDecodeException(name, DescribeUnsupported(codec.EncodedFormat, sniffed));

        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
            throw new ImageDecodeException(name, $"the {format} file declares an empty image ({info.Width}×{info.Height} pixels).");
        var pixels = (long)info.Width * info.Height;
        if (pixels > maxPixels)
            throw new ImageDecodeException(name,
                $"the image is too large: {info.Width}×{info.Height} = {pixels:N0} pixels; the limit is {maxPixels:N0} pixels. Downscale it and upload it again.");

        var (width, height) = (info.Width, info.Height);
        if (minShortSide > 0 && codec.EncodedFormat == SKEncodedImageFormat.Jpeg && Math.Min(width, height) >= 2 * minShortSide)
        {
            // libjpeg scales by k/8; take the smallest k whose short side is still large enough.
            for (var k = 1; k < 8; k++)
            {
                var scaled = codec.GetScaledDimensions(k / 8f);
                if (scaled.Width > 0 && scaled.Height > 0 && scaled.Width < width
                    && Math.Min(scaled.Width, scaled.Height) >= minShortSide)
                {
                    (width, height) = (scaled.Width, scaled.Height);
                    break;
                }
            }
        }

        var opaque = info.AlphaType == SKAlphaType.Opaque;
        // Decode straight into the bitmap's memory; transparent images come out premultiplied so that compositing
        // onto white is exact integer arithmetic (c + 255 - a) whatever colour hides under transparent pixels.
        var decodeInfo = new SKImageInfo(width, height, SKColorType.Rgba8888,
            opaque ? SKAlphaType.Opaque : SKAlphaType.Premul, Srgb);
        var bitmap = DecodedImage.NewOpaqueBitmap(width, height);
        try
        {
            var result = codec.GetPixels(decodeInfo, bitmap.GetPixels(), bitmap.RowBytes, new SKCodecOptions(0));
            if (result != SKCodecResult.Success)
                throw new ImageDecodeException(name, DescribeFailedDecode(format, result));
            if (!opaque)
                CompositeOntoWhite(bitmap);
            var origin = codec.EncodedOrigin;
            if (origin == SKEncodedOrigin.TopLeft && codec.EncodedFormat == SKEncodedImageFormat.Png)
                origin = ExifOrientation.FromPng(data);
            var oriented = ApplyOrientation(bitmap, origin);
            if (!ReferenceEquals(oriented, bitmap))
            {
                bitmap.Dispose();
                bitmap = oriented;
            }
            return new DecodedImage(bitmap, format);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    private static string? FormatName(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Jpeg => "JPEG",
        SKEncodedImageFormat.Png => "PNG",
        SKEncodedImageFormat.Webp => "WebP",
        SKEncodedImageFormat.Gif => "GIF",
        SKEncodedImageFormat.Bmp => "BMP",
        _ => null,
    };

    private static string DescribeUnsupported(SKEncodedImageFormat format, string? sniffed)
    {
        var known = format switch
        {
            SKEncodedImageFormat.Ico => "ICO",
            SKEncodedImageFormat.Heif => "HEIC/HEIF",
            SKEncodedImageFormat.Avif => "AVIF",
            SKEncodedImageFormat.Dng => "DNG (camera raw)",
            SKEncodedImageFormat.Jpegxl => "JPEG XL",
            _ => sniffed,
        };
        // Skia also recognises WBMP and texture formats, whose loose signatures match arbitrary bytes: call those
        // "not an image" rather than naming a format the user has never heard of.
        return known is null
            ? $"this is not an image in a supported format (supported formats are {SupportedFormats})."
            : $"{known} files are not supported; convert it to JPEG or PNG (supported formats are {SupportedFormats}).";
    }

    private static string DescribeFailedDecode(string format, SKCodecResult result) => result switch
    {
        // Skia also reports this for a JPEG that lacks only its end marker; appending one would make genuinely cut
        // files pass too (libjpeg's end-of-data warnings are not errors), so those are rejected as well.
        SKCodecResult.IncompleteInput => TruncatedReason(format),
        SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput =>
            $"the {format} file is corrupt: its image data contains errors, so part of the picture cannot be read.",
        _ => $"the {format} file could not be decoded ({result}).",
    };

    private static string DescribeUnreadable(string? sniffed, SKCodecResult createResult)
    {
        if (sniffed is not null && UnsupportedSignatures.Contains(sniffed))
            return $"{sniffed} files are not supported; convert it to JPEG or PNG (supported formats are {SupportedFormats}).";
        if (sniffed is not null)
            return createResult == SKCodecResult.IncompleteInput
                ? TruncatedReason(sniffed)
                : $"the file starts like a {sniffed} image but its header is corrupt.";
        return $"this is not an image in a supported format (supported formats are {SupportedFormats}).";
    }

    private static readonly HashSet<string> UnsupportedSignatures = ["HEIC/HEIF", "AVIF", "TIFF", "PDF", "SVG", "ICO"];

    /// <summary>Recognises a format by its first bytes, only to word error messages.</summary>
    private static string? Sniff(ReadOnlySpan<byte> d)
    {
        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "JPEG";
        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47])) return "PNG";
        if (d.StartsWith("GIF8"u8)) return "GIF";
        if (d.StartsWith("BM"u8) && d.Length >= 14) return "BMP";
        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8)) return "WebP";
        if (d.Length >= 12 && d.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            var brand = d.Slice(8, 4);
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8)) return "AVIF";
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8)
                || brand.SequenceEqual("msf1"u8) || brand.SequenceEqual("hevc"u8)) return "HEIC/HEIF";
        }
        if (d.StartsWith("II*\0"u8) || d.StartsWith("MM\0*"u8)) return "TIFF";
        if (d.StartsWith("%PDF"u8)) return "PDF";
        if (d.StartsWith((ReadOnlySpan<byte>)[0, 0, 1, 0])) return "ICO";
        var head = d[..Math.Min(d.Length, 256)];
        if (head.IndexOf("<svg"u8) >= 0) return "SVG";
        return null;
    }

    /// <summary>Premultiplied RGBA → opaque RGBA over white: c' = c + (255 − a), exact for premultiplied values.</summary>
    private static void CompositeOntoWhite(SKBitmap bitmap)
    {
        var rowBytes = bitmap.RowBytes;
        var all = bitmap.GetPixelSpan();
        for (var y = 0; y < bitmap.Height; y++)
        {
            var row = MemoryMarshal.Cast<byte, uint>(all.Slice(y * rowBytes, bitmap.Width * 4));
            for (var x = 0; x < row.Length; x++)
            {
                var p = row[x];
                var a = p >> 24; // Rgba8888 on a little-endian machine: R is the low byte, A the high byte.
                if (a == 255) continue;
                var add = 255 - a;
                // Premultiplied channels are ≤ a, so adding 255 − a never carries into the next byte.
                row[x] = (p & 0x00FFFFFFu) + (add | add << 8 | add << 16) | 0xFF000000u;
            }
        }
    }

    /// <summary>Returns an upright copy for EXIF origins other than top-left (exact pixel moves, no resampling).</summary>
    private static SKBitmap ApplyOrientation(SKBitmap src, SKEncodedOrigin origin)
    {
        int w = src.Width, h = src.Height;
        // Source coordinates of output pixel (xo, yo): xi = ax·xo + bx·yo + cx, yi = ay·xo + by·yo + cy.
        (int ax, int bx, int cx, int ay, int by, int cy, bool swap) m = origin switch
        {
            SKEncodedOrigin.TopLeft => default,
            SKEncodedOrigin.TopRight => (-1, 0, w - 1, 0, 1, 0, false),          // mirrored horizontally
            SKEncodedOrigin.BottomRight => (-1, 0, w - 1, 0, -1, h - 1, false),  // rotated 180°
            SKEncodedOrigin.BottomLeft => (1, 0, 0, 0, -1, h - 1, false),        // mirrored vertically
            SKEncodedOrigin.LeftTop => (0, 1, 0, 1, 0, 0, true),                 // transposed
            SKEncodedOrigin.RightTop => (0, 1, 0, -1, 0, h - 1, true),           // needs 90° clockwise
            SKEncodedOrigin.RightBottom => (0, -1, w - 1, -1, 0, h - 1, true),   // transversed
            SKEncodedOrigin.LeftBottom => (0, -1, w - 1, 1, 0, 0, true),         // needs 90° counter-clockwise
            _ => default,
        };
        if (m == default) return src;

        var (ow, oh) = m.swap ? (h, w) : (w, h);
        var dst = DecodedImage.NewOpaqueBitmap(ow, oh);
        var stride = src.RowBytes / 4;
        var srcPixels = MemoryMarshal.Cast<byte, uint>(src.GetPixelSpan());
        var dstAll = dst.GetPixelSpan();
        var dstStride = dst.RowBytes;
        var step = m.ay * stride + m.ax;
        for (var yo = 0; yo < oh; yo++)
        {
            var row = MemoryMarshal.Cast<byte, uint>(dstAll.Slice(yo * dstStride, ow * 4));
            var index = (m.by * yo + m.cy) * stride + m.bx * yo + m.cx;
            for (var xo = 0; xo < ow; xo++, index += step)
                row[xo] = srcPixels[index];
        }
        return dst;
    }
}
