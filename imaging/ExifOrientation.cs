using System.Buffers.Binary;
using SkiaSharp;

namespace TransferHub.Imaging;

/// <summary>
/// Reads the Orientation tag from Exif data stored as a bare TIFF structure, as PNG's <c>eXIf</c> chunk holds it
/// (PNG Specification, Third Edition §11.3.3.6; Extensions to the PNG 1.2 Specification v1.5.0 §3.7). SKCodec applies
/// JPEG and WebP Exif itself but reports <see cref="SKEncodedOrigin.TopLeft"/> for PNG, so PNG's is read here.
/// </summary>
internal static class ExifOrientation
{
    private const ushort OrientationTag = 0x0112; // Exif 2.32 §4.6.4 A, TIFF 6.0 "Orientation"
    private const ushort ShortType = 3;           // TIFF 6.0 §2: SHORT, a 16-bit unsigned integer

    /// <summary>The orientation in the first <c>eXIf</c> chunk of a PNG; <see cref="SKEncodedOrigin.TopLeft"/> without one.</summary>
    public static SKEncodedOrigin FromPng(ReadOnlySpan<byte> png) => FromTiff(EncodedStructure.FindPngChunk(png, "eXIf"u8));

    /// <summary>
    /// The Orientation (tag 0x0112, one SHORT with a value 1–8) of IFD0 in TIFF-structured Exif data: the byte-order
    /// mark "II" (little-endian) or "MM" (big-endian), the number 42, the 32-bit offset of IFD0, then IFD0's 16-bit entry
    /// count and 12-byte entries (TIFF 6.0 §2). A leading "Exif\0\0" (the JPEG APP1 identifier, which some PNG writers
    /// copy wrongly) is skipped. Anything missing, malformed or out of range means <see cref="SKEncodedOrigin.TopLeft"/>
    /// (upright): a bad tag never rejects an image. Values map one to one onto <see cref="SKEncodedOrigin"/>.
    /// </summary>
    public static SKEncodedOrigin FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.StartsWith("Exif\0\0"u8)) tiff = tiff[6..];
        if (tiff.Length < 8) return SKEncodedOrigin.TopLeft;
        bool bigEndian;
        if (tiff.StartsWith("II"u8)) bigEndian = false;
        else if (tiff.StartsWith("MM"u8)) bigEndian = true;
        else return SKEncodedOrigin.TopLeft;
        ushort U16(ReadOnlySpan<byte> s) => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
        uint U32(ReadOnlySpan<byte> s) => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

        if (U16(tiff[2..]) != 42) return SKEncodedOrigin.TopLeft;
        var ifd = U32(tiff[4..]);
        if (ifd < 8 || ifd > tiff.Length - 2) return SKEncodedOrigin.TopLeft;
        var count = U16(tiff[(int)ifd..]);
        for (var k = 0; k < count; k++)
        {
            var entry = (long)ifd + 2 + 12L * k;
            if (entry + 12 > tiff.Length) break;
            var e = tiff.Slice((int)entry, 12);
            if (U16(e) != OrientationTag) continue;
            // A SHORT value of count 1 sits in the first two bytes of the 4-byte value field, in the file's byte order.
            if (U16(e[2..]) != ShortType || U32(e[4..]) < 1) return SKEncodedOrigin.TopLeft;
            var value = U16(e[8..]);
            return value is >= 1 and <= 8 ? (SKEncodedOrigin)value : SKEncodedOrigin.TopLeft;
        }
        return SKEncodedOrigin.TopLeft;
    }
}
