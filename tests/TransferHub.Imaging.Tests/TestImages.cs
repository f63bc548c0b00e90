using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace TransferHub.Imaging.Tests;

/// <summary>Builds small test images in memory: Skia-encoded JPEG/PNG/WebP and hand-written BMP, GIF, palette PNG.</summary>
internal static class TestImages
{
    public static readonly SKColor Red = new(255, 0, 0), Green = new(0, 255, 0), Blue = new(0, 0, 255);

    public static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "photos", name));

    /// <summary>An unpremultiplied RGBA bitmap whose pixel (x, y) is <paramref name="colour"/>(x, y).</summary>
    public static SKBitmap Bitmap(int width, int height, Func<int, int, SKColor> colour)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = colour(x, y);
                var i = y * bitmap.RowBytes + x * 4;
                (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (c.Red, c.Green, c.Blue, c.Alpha);
            }
        return bitmap;
    }

    public static SKBitmap LeftRight(int width, int height, SKColor left, SKColor right)
        => Bitmap(width, height, (x, _) => x < width / 2 ? left : right);

    public static SKBitmap TopBottom(int width, int height, SKColor top, SKColor bottom)
        => Bitmap(width, height, (_, y) => y < height / 2 ? top : bottom);

    /// <summary>Deterministic pseudo-random colours: incompressible enough that truncation cuts into pixel data.</summary>
    public static SKBitmap Noise(int width, int height, int seed)
    {
        var random = new Random(seed);
        return Bitmap(width, height, (_, _) => new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
    }

    public static byte[] Jpeg(SKBitmap bitmap, int quality = 95)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKJpegEncoderOptions(quality));
        return (data ?? throw new InvalidOperationException("Skia could not encode the test image")).ToArray();
    }

    public static byte[] Png(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(SKPngEncoderOptions.Default);
        return (data ?? throw new InvalidOperationException("Skia could not encode the test image")).ToArray();
    }

    public static byte[] WebpLossless(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100));
        return (data ?? throw new InvalidOperationException("Skia could not encode the test image")).ToArray();
    }

    public static byte[] WebpLossy(SKBitmap bitmap, int quality = 80)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, quality));
        return (data ?? throw new InvalidOperationException("Skia could not encode the test image")).ToArray();
    }

    /// <summary>A committed file under TestData (e.g. "generated/progressive.jpg"; see TestData/README.md).</summary>
    public static byte[] TestFile(string relativePath) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", relativePath));

    /// <summary>Inserts an eXIf chunk holding <paramref name="tiff"/> right after the PNG's IHDR chunk.</summary>
    public static byte[] WithPngExif(byte[] png, byte[] tiff)
    {
        const int afterIhdr = 8 + 12 + 13; // signature, then IHDR: length, type, 13 data bytes, CRC
        if (png.Length < afterIhdr || !png.AsSpan(12, 4).SequenceEqual("IHDR"u8)) throw new ArgumentException("not a PNG");
        using var output = new MemoryStream();
        output.Write(png, 0, afterIhdr);
        WriteChunk(output, "eXIf", tiff);
        output.Write(png, afterIhdr, png.Length - afterIhdr);
        return output.ToArray();
    }

    /// <summary>
    /// A TIFF structure (as Exif stores it) whose IFD0 holds <paramref name="entries"/> of type SHORT, count 1, in the
    /// given byte order ("II" little-endian or "MM" big-endian), IFD0 at offset 8.
    /// </summary>
    public static byte[] ExifTiff(bool bigEndian, params (ushort Tag, ushort Value)[] entries)
    {
        var data = new byte[8 + 2 + 12 * entries.Length + 4];
        void U16(int at, ushort v) { if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), v); else BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at), v); }
        void U32(int at, uint v) { if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), v); else BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), v); }
        (data[0], data[1]) = bigEndian ? ((byte)'M', (byte)'M') : ((byte)'I', (byte)'I');
        U16(2, 42);
        U32(4, 8);
        U16(8, (ushort)entries.Length);
        for (var k = 0; k < entries.Length; k++)
        {
            var e = 10 + 12 * k;
            U16(e, entries[k].Tag);
            U16(e + 2, 3); // SHORT
            U32(e + 4, 1);
            U16(e + 8, entries[k].Value);
        }
        return data;
    }

    /// <summary>An uncompressed 24-bit BMP (rows stored bottom-up, as usual). Skia has no BMP encoder.</summary>
    public static byte[] Bmp(int width, int height, Func<int, int, SKColor> colour)
    {
        var rowBytes = (width * 3 + 3) & ~3;
        var data = new byte[54 + rowBytes * height];
        "BM"u8.CopyTo(data);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(2), data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(34), rowBytes * height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = colour(x, y);
                var i = 54 + (height - 1 - y) * rowBytes + x * 3;
                (data[i], data[i + 1], data[i + 2]) = (c.Blue, c.Green, c.Red);
            }
        return data;
    }

    /// <summary>An 8-bit palette PNG (colour type 3) with an optional tRNS chunk of per-index alpha.</summary>
    public static byte[] PalettePng(int width, int height, SKColor[] palette, Func<int, int, byte> index, byte[]? alpha = null)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 3; // palette
        WriteChunk(output, "IHDR", ihdr);
        WriteChunk(output, "PLTE", palette.SelectMany(c => new[] { c.Red, c.Green, c.Blue }).ToArray());
        if (alpha is not null) WriteChunk(output, "tRNS", alpha);
        using var raw = new MemoryStream();
        for (var y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter: none
            for (var x = 0; x < width; x++) raw.WriteByte(index(x, y));
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            zlib.Write(raw.ToArray());
        WriteChunk(output, "IDAT", compressed.ToArray());
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        output.Write(word);
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as PNG chunks need it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>
    /// A GIF89a of up to 4 palette colours. The LZW stream sends a clear code before every pixel, so the code size
    /// stays at 3 bits and no dictionary is needed; valid, just not compressed.
    /// </summary>
    public static byte[] Gif(int width, int height, SKColor[] palette, Func<int, int, byte> index, int? transparentIndex = null)
    {
        if (palette.Length > 4) throw new ArgumentException("at most 4 colours");
        var output = new List<byte>();
        output.AddRange("GIF89a"u8.ToArray());
        output.AddRange(BitConverter.GetBytes((ushort)width));
        output.AddRange(BitConverter.GetBytes((ushort)height));
        output.AddRange([0xF1, 0, 0]); // global colour table of 2^(1+1) = 4 entries, background 0, no aspect
        for (var i = 0; i < 4; i++)
        {
            var c = i < palette.Length ? palette[i] : SKColors.Black;
            output.AddRange([c.Red, c.Green, c.Blue]);
        }
        if (transparentIndex is { } t)
            output.AddRange([0x21, 0xF9, 4, 0x01, 0, 0, (byte)t, 0]); // graphic control extension: transparent index
        output.Add(0x2C);
        output.AddRange(new byte[4]); // left, top
        output.AddRange(BitConverter.GetBytes((ushort)width));
        output.AddRange(BitConverter.GetBytes((ushort)height));
        output.Add(0); // no local colour table, not interlaced
        output.Add(2); // LZW minimum code size: clear = 4, end = 5, codes are 3 bits

        var codes = new List<int>();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                codes.AddRange([4, index(x, y)]);
        codes.Add(5);
        var packed = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var code in codes)
        {
            buffer |= code << bits;
            bits += 3;
            while (bits >= 8)
            {
                packed.Add((byte)buffer);
                buffer >>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) packed.Add((byte)buffer);
        for (var i = 0; i < packed.Count; i += 255)
        {
            var n = Math.Min(255, packed.Count - i);
            output.Add((byte)n);
            output.AddRange(packed.GetRange(i, n));
        }
        output.Add(0); // end of image data
        output.Add(0x3B); // trailer
        return output.ToArray();
    }

    /// <summary>Inserts an APP1 Exif segment holding only the Orientation tag (0x0112) right after the JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("not a JPEG");
        byte[] app1 =
        [
            0xFF, 0xE1, 0x00, 34,                   // APP1, length 34 (counts itself, not the marker)
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A,       // TIFF header, big-endian
            0x00, 0x00, 0x00, 0x08,                 // offset of the first IFD
            0x00, 0x01,                             // one entry
            0x01, 0x12, 0x00, 0x03,                 // tag Orientation, type SHORT
            0x00, 0x00, 0x00, 0x01,                 // count 1
            (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00, // value, left-justified
            0x00, 0x00, 0x00, 0x00,                 // no next IFD
        ];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    /// <summary>Pixel (x, y) of a size-wide RGB buffer.</summary>
    public static (byte R, byte G, byte B) At(byte[] rgb, int size, int x, int y)
    {
        var i = (y * size + x) * 3;
        return (rgb[i], rgb[i + 1], rgb[i + 2]);
    }

    public static bool Near((byte R, byte G, byte B) actual, SKColor expected, int tolerance)
        => Math.Abs(actual.R - expected.Red) <= tolerance
           && Math.Abs(actual.G - expected.Green) <= tolerance
           && Math.Abs(actual.B - expected.Blue) <= tolerance;

    public static void AssertNear(SKColor expected, (byte R, byte G, byte B) actual, int tolerance, string where = "")
        => Assert.True(Near(actual, expected, tolerance),
            $"{where}expected ≈ ({expected.Red}, {expected.Green}, {expected.Blue}) ± {tolerance}, got ({actual.R}, {actual.G}, {actual.B})");

    public static DecodedImage Decode(byte[] data, string name = "test") => ImageDecoder.Decode(data, name);
}
