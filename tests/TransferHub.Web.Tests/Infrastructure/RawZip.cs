using System.Buffers.Binary;
using System.Text;
using TransferHub.Web.Features.Datasets.Import;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>
/// Writes zips byte by byte, with entry names as raw bytes, any general purpose flags and any extra fields: what other
/// tools write (CP437 names, UTF-8 without the flag, Info-ZIP Unicode Path fields) and
/// <see cref="System.IO.Compression.ZipArchive"/> cannot. Entries are stored (not compressed).
/// </summary>
public sealed class RawZip
{
    public const ushort Utf8Flag = 1 << 11;

    private readonly List<(byte[] Name, ushort Flags, byte[] Extra, byte[] Data)> _entries = [];

    public static Encoding Cp437 { get; } = CodePagesEncodingProvider.Instance.GetEncoding(437)!;

    public RawZip Add(byte[] name, byte[] data, ushort flags = 0, byte[]? extra = null)
    {
        _entries.Add((name, flags, extra ?? [], data));
        return this;
    }

    /// <summary>An entry whose name is written in <paramref name="encoding"/>, the UTF-8 flag set when asked.</summary>
    public RawZip Add(string name, Encoding encoding, byte[] data, bool utf8Flag = false) =>
        Add(encoding.GetBytes(name), data, utf8Flag ? Utf8Flag : (ushort)0);

    /// <summary>An Info-ZIP Unicode Path extra field (0x7075) for a stored name, version 1.</summary>
    public static byte[] UnicodePath(byte[] storedName, string unicodeName, uint? crc = null)
    {
        var utf8 = Encoding.UTF8.GetBytes(unicodeName);
        var field = new byte[4 + 5 + utf8.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(field, 0x7075);
        BinaryPrimitives.WriteUInt16LittleEndian(field.AsSpan(2), (ushort)(5 + utf8.Length));
        field[4] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(field.AsSpan(5), crc ?? ZipEntryNames.Crc32(storedName));
        utf8.CopyTo(field, 9);
        return field;
    }

    public MemoryStream ToStream()
    {
        var zip = new MemoryStream();
        var offsets = new List<long>();
        foreach (var (name, flags, extra, data) in _entries)
        {
            offsets.Add(zip.Position);
            Header(zip, 0x04034b50, central: false, name, flags, extra, data, 0);
            zip.Write(data);
        }
        var directory = zip.Position;
        for (var i = 0; i < _entries.Count; i++)
        {
            var (name, flags, extra, data) = _entries[i];
            Header(zip, 0x02014b50, central: true, name, flags, extra, data, offsets[i]);
        }
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(zip.Position - directory));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)directory);
        zip.Write(end);
        zip.Position = 0;
        return zip;
    }

    private static void Header(Stream zip, uint signature, bool central, byte[] name, ushort flags, byte[] extra, byte[] data, long offset)
    {
        var header = new byte[central ? 46 : 30];
        var at = central ? 2 : 0; // the central header has "version made by" before the fields both share
        BinaryPrimitives.WriteUInt32LittleEndian(header, signature);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4 + at), 20); // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6 + at), flags);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8 + at), 0); // stored
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(12 + at), 0x21); // 1980-01-01
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(14 + at), ZipEntryNames.Crc32(data));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(18 + at), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(22 + at), (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(26 + at), (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(28 + at), (ushort)extra.Length);
        if (central)
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(42), (uint)offset);
        zip.Write(header);
        zip.Write(name);
        zip.Write(extra);
    }

    /// <summary>A zip of nothing: only the end-of-central-directory record.</summary>
    public static MemoryStream Empty() => new RawZip().ToStream();
}
