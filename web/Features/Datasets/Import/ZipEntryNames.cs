using System.Buffers.Binary;
using System.Text;

namespace TransferHub.Web.Features.Datasets.Import;

/// <summary>
/// Decodes zip entry names as the zip specification (APPNOTE 6.3.10, 4.4.4 and D.1–D.2) says, one entry at a time:
/// general purpose bit 11 set → UTF-8; else the Info-ZIP Unicode Path extra field (0x7075, version 1, whose CRC-32
/// of the stored name still matches) → its UTF-8 name; else the stored bytes when they are valid UTF-8 (macOS and
/// other tools write UTF-8 without setting the flag); else IBM code page 437, the specification's default.
/// <see cref="System.IO.Compression.ZipArchive"/> applies one encoding to every entry and does not expose the extra
/// fields, so the central directory is read here for the raw names.
/// </summary>
public static class ZipEntryNames
{
    private const ushort Utf8Flag = 1 << 11;
    private const ushort UnicodePathTag = 0x7075;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>IBM PC code page 437; its provider ships with the shared framework (no registration needed).</summary>
    private static readonly Encoding Cp437 = System.Text.CodePagesEncodingProvider.Instance.GetEncoding(437)
        ?? throw new InvalidOperationException("Code page 437 is not available.");

    /// <summary>One entry of the central directory, as stored.</summary>
    public sealed record RawEntry(ushort Flags, byte[] Name, byte[] Extra);

    /// <summary>The entry's name per the rules above, or null when bit 11 promises UTF-8 that is not valid UTF-8 (the
    /// name cannot be read without guessing).</summary>
    public static string? Decode(ReadOnlySpan<byte> name, ushort flags, ReadOnlySpan<byte> extra)
    {
        if ((flags & Utf8Flag) != 0)
            return TryUtf8(name);
        if (UnicodePath(name, extra) is { } unicode)
            return unicode;
        return TryUtf8(name) ?? Cp437.GetString(name);
    }

    /// <summary>The name in a version 1 Info-ZIP Unicode Path extra field whose CRC-32 matches the stored name (a
    /// mismatch means a later tool renamed the entry without updating the field), or null.</summary>
    public static string? UnicodePath(ReadOnlySpan<byte> name, ReadOnlySpan<byte> extra)
    {
        while (extra.Length >= 4)
        {
            var tag = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4)
                return null; // malformed extra block
            var data = extra.Slice(4, size);
            if (tag == UnicodePathTag && data.Length >= 5 && data[0] == 1
                && BinaryPrimitives.ReadUInt32LittleEndian(data[1..]) == Crc32(name))
                return TryUtf8(data[5..]);
            extra = extra[(4 + size)..];
        }
        return null;
    }

    /// <summary>Every entry of the archive's central directory, in order (the order of
    /// <see cref="System.IO.Compression.ZipArchive.Entries"/>). The stream must be seekable; its position is kept.</summary>
    /// <exception cref="ArchiveException">the central directory cannot be read</exception>
    public static IReadOnlyList<RawEntry> ReadCentralDirectory(Stream zip)
    {
        var start = zip.Position;
        try
        {
            var (offset, count) = Locate(zip);
            zip.Position = offset;
            var entries = new List<RawEntry>((int)Math.Min(count, 100_000));
            Span<byte> header = stackalloc byte[46];
            for (long i = 0; i < count; i++)
            {
                zip.ReadExactly(header);
                if (BinaryPrimitives.ReadUInt32LittleEndian(header) != 0x02014b50)
                    throw Unreadable();
                var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
                var name = new byte[BinaryPrimitives.ReadUInt16LittleEndian(header[28..])];
                var extra = new byte[BinaryPrimitives.ReadUInt16LittleEndian(header[30..])];
                var comment = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
                zip.ReadExactly(name);
                zip.ReadExactly(extra);
                zip.Seek(comment, SeekOrigin.Current);
                entries.Add(new RawEntry(flags, name, extra));
            }
            return entries;
        }
        catch (EndOfStreamException)
        {
            throw Unreadable();
        }
        finally
        {
            zip.Position = start;
        }
    }

    /// <summary>The central directory's offset and entry count, from the end-of-central-directory record (the last
    /// one in the file, as <see cref="System.IO.Compression.ZipArchive"/> finds it) or its ZIP64 form.</summary>
    private static (long Offset, long Count) Locate(Stream zip)
    {
        const int eocdSize = 22;
        var tail = (int)Math.Min(zip.Length, eocdSize + ushort.MaxValue);
        var buffer = new byte[tail];
        zip.Position = zip.Length - tail;
        zip.ReadExactly(buffer);
        var at = -1;
        for (var i = tail - eocdSize; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i)) == 0x06054b50)
            {
                at = i;
                break;
            }
        if (at < 0)
            throw Unreadable();
        var eocd = buffer.AsSpan(at);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        var eocdPosition = zip.Length - tail + at;
        if ((count == ushort.MaxValue || offset == uint.MaxValue) && eocdPosition >= 20)
        {
            Span<byte> locator = stackalloc byte[20];
            zip.Position = eocdPosition - 20;
            zip.ReadExactly(locator);
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == 0x07064b50)
            {
                Span<byte> eocd64 = stackalloc byte[56];
                zip.Position = (long)BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]);
                zip.ReadExactly(eocd64);
                if (BinaryPrimitives.ReadUInt32LittleEndian(eocd64) != 0x06064b50)
                    throw Unreadable();
                count = (long)BinaryPrimitives.ReadUInt64LittleEndian(eocd64[32..]);
                offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(eocd64[48..]);
            }
        }
        if (offset < 0 || offset > zip.Length || count < 0)
            throw Unreadable();
        return (offset, count);
    }

    private static ArchiveException Unreadable() => new("The archive's central directory cannot be read.");

    private static string? TryUtf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>The zip (IEEE 802.3) CRC-32.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
