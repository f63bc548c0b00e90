using System.Buffers.Binary;

namespace TransferHub.Imaging;

/// <summary>What a walk over a file's container structure found.</summary>
internal enum StreamEnd
{
    /// <summary>Every segment, chunk or block is present, up to and including the format's end marker.</summary>
    Complete,

    /// <summary>The bytes run out before the end marker (or inside a segment, chunk or block): the file was cut.</summary>
    Truncated,

    /// <summary>The structure is not what the specification describes; the codec's own result decides.</summary>
    Unrecognised,
}

/// <summary>
/// Structural end-of-stream checks, one per container format, so that a cut file is refused even where the codec
/// decodes what it has and reports success (SKCodec does for progressive JPEG, for a PNG cut inside its IEND chunk,
/// a WebP cut inside its last chunk and a GIF without its trailer). Each walk reads only lengths and markers, never
/// pixel data, in time linear in the file size and without allocating. Cutting a file anywhere (keeping a prefix)
/// always yields <see cref="StreamEnd.Truncated"/>; bytes after the end marker are allowed (some writers append
/// data there).
/// </summary>
internal static class EncodedStructure
{
    /// <summary>Checks <paramref name="data"/> as the named format ("JPEG", "PNG", "WebP", "GIF", "BMP").</summary>
    public static StreamEnd Check(string format, ReadOnlySpan<byte> data) => format switch
    {
        "JPEG" => CheckJpeg(data),
        "PNG" => CheckPng(data),
        "WebP" => CheckWebp(data),
        "GIF" => CheckGif(data),
        "BMP" => CheckBmp(data),
        _ => StreamEnd.Unrecognised,
    };

    /// <summary>
    /// JPEG (ITU-T T.81 §B.1.1.2–B.1.1.5, B.2): walks the marker segments after SOI by their 16-bit lengths (so an EOI
    /// inside an Exif thumbnail does not count), steps over entropy-coded data (where 0xFF is followed by a stuffed
    /// 0x00 or an RSTn marker), and requires the EOI marker 0xFFD9 after the last scan. Fill bytes (0xFF) before a
    /// marker and stray bytes between segments are skipped as libjpeg does.
    /// </summary>
    public static StreamEnd CheckJpeg(ReadOnlySpan<byte> d)
    {
        if (d.Length < 2 || d[0] != 0xFF || d[1] != 0xD8) return StreamEnd.Unrecognised;
        var i = 2;
        while (true)
        {
            var next = d[i..].IndexOf((byte)0xFF);
            if (next < 0) return StreamEnd.Truncated;
            i += next;
            while (i < d.Length && d[i] == 0xFF) i++;
            if (i >= d.Length) return StreamEnd.Truncated;
            var marker = d[i++];
            switch (marker)
            {
                case 0xD9: // EOI
                    return StreamEnd.Complete;
                case 0x00: // a stuffed 0xFF inside entropy-coded data
                case >= 0xD0 and <= 0xD7: // RST0..RST7, inside entropy-coded data
                case 0x01: // TEM
                case 0xD8: // SOI (a second one is an error for libjpeg; no length follows)
                    continue;
            }
            if (i + 2 > d.Length) return StreamEnd.Truncated;
            var length = BinaryPrimitives.ReadUInt16BigEndian(d[i..]);
            if (length < 2) return StreamEnd.Unrecognised;
            if (i + length > d.Length) return StreamEnd.Truncated;
            i += length; // after SOS, the loop then walks its entropy-coded data up to the next marker
        }
    }

    /// <summary>
    /// PNG (ISO/IEC 15948 §5.3 chunk layout, §11.2.5 IEND): walks the chunks (4-byte length, type, data, CRC) after
    /// the signature and requires a whole IEND chunk.
    /// </summary>
    public static StreamEnd CheckPng(ReadOnlySpan<byte> d)
    {
        if (d.Length < PngSignature.Length && PngSignature.StartsWith(d)) return StreamEnd.Truncated;
        if (!d.StartsWith(PngSignature)) return StreamEnd.Unrecognised;
        long i = PngSignature.Length;
        while (true)
        {
            if (i + 8 > d.Length) return StreamEnd.Truncated;
            var length = BinaryPrimitives.ReadUInt32BigEndian(d[(int)i..]);
            if (length > int.MaxValue) return StreamEnd.Unrecognised;
            var end = i + 12 + length;
            if (end > d.Length) return StreamEnd.Truncated;
            if (d.Slice((int)i + 4, 4).SequenceEqual("IEND"u8)) return StreamEnd.Complete;
            i = end;
        }
    }

    /// <summary>
    /// The data of the first chunk of type <paramref name="type"/> before IEND, or an empty span when there is none
    /// or the file is cut before it. PNG chunk layout as in <see cref="CheckPng"/>.
    /// </summary>
    public static ReadOnlySpan<byte> FindPngChunk(ReadOnlySpan<byte> d, ReadOnlySpan<byte> type)
    {
        if (!d.StartsWith(PngSignature)) return default;
        long i = PngSignature.Length;
        while (i + 8 <= d.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(d[(int)i..]);
            if (length > int.MaxValue || i + 12 + length > d.Length) return default;
            var chunkType = d.Slice((int)i + 4, 4);
            if (chunkType.SequenceEqual(type)) return d.Slice((int)i + 8, (int)length);
            if (chunkType.SequenceEqual("IEND"u8)) return default;
            i += 12 + length;
        }
        return default;
    }

    /// <summary>
    /// WebP (RFC 9649 §2.4–2.7, the RIFF container): the file must hold the whole RIFF payload its header declares
    /// (8 + RIFF size bytes), and every chunk inside it (VP8, VP8L, VP8X, ANIM, ANMF frames, ALPH, ICCP, EXIF, XMP)
    /// must fit. Lossy, lossless and animated files are checked alike: all frames are inside the RIFF payload.
    /// </summary>
    public static StreamEnd CheckWebp(ReadOnlySpan<byte> d)
    {
        if (d.Length < 12 || !d.StartsWith("RIFF"u8) || !d.Slice(8, 4).SequenceEqual("WEBP"u8)) return StreamEnd.Unrecognised;
        var end = 8L + BinaryPrimitives.ReadUInt32LittleEndian(d[4..]);
        if (d.Length < end) return StreamEnd.Truncated;
        long i = 12;
        while (i + 8 <= end)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(d[((int)i + 4)..]);
            var chunkEnd = i + 8 + size;
            if (chunkEnd > end) return StreamEnd.Unrecognised; // a chunk longer than the RIFF payload: a lying header
            i = chunkEnd + (size & 1); // chunks are padded to an even size; a missing pad after the last one is tolerated
        }
        return i == 12 ? StreamEnd.Unrecognised : StreamEnd.Complete;
    }

    /// <summary>
    /// GIF (GIF89a specification §17–27, also GIF87a): walks the header, logical screen descriptor, colour tables,
    /// extension blocks and every frame's image descriptor and LZW sub-blocks, and requires the trailer 0x3B. A GIF
    /// cut in any frame, not only the first, is therefore truncated.
    /// </summary>
    public static StreamEnd CheckGif(ReadOnlySpan<byte> d)
    {
        if (!d.StartsWith("GIF8"u8)) return StreamEnd.Unrecognised;
        long i = 13; // 6-byte header + 7-byte logical screen descriptor
        if (i > d.Length) return StreamEnd.Truncated;
        if ((d[10] & 0x80) != 0) i += 3L << ((d[10] & 7) + 1); // global colour table
        while (true)
        {
            if (i >= d.Length) return StreamEnd.Truncated;
            switch (d[(int)i])
            {
                case 0x3B: // trailer
                    return StreamEnd.Complete;
                case 0x21: // extension: introducer, label, data sub-blocks
                    i += 2;
                    break;
                case 0x2C: // image descriptor (10 bytes), optional local colour table, LZW minimum code size, sub-blocks
                    if (i + 10 > d.Length) return StreamEnd.Truncated;
                    var packed = d[(int)i + 9];
                    i += 10;
                    if ((packed & 0x80) != 0) i += 3L << ((packed & 7) + 1);
                    i += 1;
                    break;
                default:
                    return StreamEnd.Unrecognised;
            }
            // Data sub-blocks: a size byte, that many bytes, …, ended by a size of 0.
            while (true)
            {
                if (i >= d.Length) return StreamEnd.Truncated;
                var size = d[(int)i];
                i += 1 + size;
                if (size == 0) break;
            }
        }
    }

    /// <summary>
    /// BMP (Microsoft BITMAPFILEHEADER + BITMAPCOREHEADER/BITMAPINFOHEADER and later): for uncompressed pixel data
    /// (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) the file must reach the pixel-data offset plus height × the
    /// 4-byte-aligned row size. Compressed (RLE, embedded JPEG/PNG) bitmaps are left to the codec, which reports
    /// incomplete input for them.
    /// </summary>
    public static StreamEnd CheckBmp(ReadOnlySpan<byte> d)
    {
        if (d.Length < 18 || !d.StartsWith("BM"u8)) return StreamEnd.Unrecognised;
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(d[10..]);
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        long width, height;
        int bitsPerPixel;
        uint compression = 0;
        if (headerSize == 12)
        {
            if (d.Length < 26) return StreamEnd.Truncated;
            (width, height, bitsPerPixel) = (BinaryPrimitives.ReadUInt16LittleEndian(d[18..]),
                BinaryPrimitives.ReadInt16LittleEndian(d[20..]), BinaryPrimitives.ReadUInt16LittleEndian(d[24..]));
        }
        else if (headerSize >= 40)
        {
            if (d.Length < 34) return StreamEnd.Truncated;
            (width, height, bitsPerPixel) = (BinaryPrimitives.ReadInt32LittleEndian(d[18..]),
                BinaryPrimitives.ReadInt32LittleEndian(d[22..]), BinaryPrimitives.ReadUInt16LittleEndian(d[28..]));
            compression = BinaryPrimitives.ReadUInt32LittleEndian(d[30..]);
        }
        else return StreamEnd.Unrecognised;
        if (compression is not (0 or 3 or 6) || width <= 0 || height == 0
            || bitsPerPixel is not (1 or 2 or 4 or 8 or 16 or 24 or 32)) return StreamEnd.Unrecognised;
        var rowBytes = (width * bitsPerPixel + 31) / 32 * 4;
        return d.Length < offset + rowBytes * Math.Abs(height) ? StreamEnd.Truncated : StreamEnd.Complete;
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
}
