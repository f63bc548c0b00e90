using SkiaSharp;

namespace TransferHub.Imaging;

/// <summary>
/// A decoded image: orientation applied, alpha composited onto a fixed white background, 8-bit RGBA with every
/// alpha 255 (sRGB). Immutable once created, so one instance may be rendered from many threads at once.
/// </summary>
public sealed class DecodedImage : IDisposable
{
    private readonly SKBitmap _bitmap;
    private readonly SKImage _image;
    private volatile bool _disposed;

    internal DecodedImage(SKBitmap opaqueRgba, string format)
    {
        opaqueRgba.SetImmutable();
        _bitmap = opaqueRgba;
        // An immutable bitmap shares its pixels with the image (no copy).
        _image = SKImage.FromBitmap(opaqueRgba)
            ?? throw new InvalidOperationException("SkiaSharp could not wrap the decoded pixels in an image.");
        Format = format;
    }

    /// <summary>Width after EXIF orientation was applied.</summary>
    public int Width => _bitmap.Width;

    /// <summary>Height after EXIF orientation was applied.</summary>
    public int Height => _bitmap.Height;

    /// <summary>The container format it was decoded from ("JPEG", "PNG", "WebP", "GIF", "BMP"), or "raw".</summary>
    public string Format { get; }

    /// <summary>The pixels: <see cref="SKColorType.Rgba8888"/>, opaque. Read only; do not draw into it.</summary>
    public SKBitmap Bitmap
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bitmap;
        }
    }

    /// <summary>The same pixels as an immutable Skia image (safe to draw from several threads).</summary>
    internal SKImage Image
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _image;
        }
    }

    /// <summary>The RGB bytes of pixel (x, y); for tests and diagnostics, not for loops.</summary>
    public (byte R, byte G, byte B) GetRgb(int x, int y)
    {
        var p = Bitmap.GetPixelSpan();
        var i = y * _bitmap.RowBytes + x * 4;
        return (p[i], p[i + 1], p[i + 2]);
    }

    /// <summary>Wraps raw interleaved RGB bytes (3 per pixel, row-major), e.g. a dataset stored as pixel arrays.</summary>
    public static DecodedImage FromRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        CheckSize(rgb.Length, width, height, 3);
        var bitmap = NewOpaqueBitmap(width, height);
        var dst = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        for (var y = 0; y < height; y++)
        {
            var s = rgb.Slice(y * width * 3, width * 3);
            var d = dst.Slice(y * rowBytes, width * 4);
            for (int x = 0, si = 0, di = 0; x < width; x++, si += 3, di += 4)
            {
                d[di] = s[si];
                d[di + 1] = s[si + 1];
                d[di + 2] = s[si + 2];
                d[di + 3] = 255;
            }
        }
        return new DecodedImage(bitmap, "raw");
    }

    /// <summary>Wraps raw 8-bit grey bytes (1 per pixel, row-major), e.g. MNIST-style IDX data.</summary>
    public static DecodedImage FromGray(ReadOnlySpan<byte> gray, int width, int height)
    {
        CheckSize(gray.Length, width, height, 1);
        var bitmap = NewOpaqueBitmap(width, height);
        var dst = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        for (var y = 0; y < height; y++)
        {
            var s = gray.Slice(y * width, width);
            var d = dst.Slice(y * rowBytes, width * 4);
            for (int x = 0, di = 0; x < width; x++, di += 4)
            {
                var v = s[x];
                d[di] = v;
                d[di + 1] = v;
                d[di + 2] = v;
                d[di + 3] = 255;
            }
        }
        return new DecodedImage(bitmap, "raw");
    }

    internal static SKBitmap NewOpaqueBitmap(int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque, ImageDecoder.Srgb);
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            bitmap.Dispose();
            throw new OutOfMemoryException($"Could not allocate a {width}×{height} image.");
        }
        return bitmap;
    }

    private static void CheckSize(int length, int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height * channels != length)
            throw new ArgumentException($"Expected {width}×{height}×{channels} = {(long)width * height * channels} bytes, got {length}.");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _image.Dispose();
        _bitmap.Dispose();
    }
}
