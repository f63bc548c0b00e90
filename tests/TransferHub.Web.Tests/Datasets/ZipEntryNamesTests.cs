using System.Text;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>Entry names decoded per entry as the zip specification says: bit 11 → UTF-8; else a matching Info-ZIP
/// Unicode Path field; else UTF-8 when valid (macOS); else CP437.</summary>
public sealed class ZipEntryNamesTests
{
    private static string? Decode(byte[] name, ushort flags = 0, byte[]? extra = null) => ZipEntryNames.Decode(name, flags, extra ?? []);

    [Theory]
    [InlineData("Bär")]
    [InlineData("Bör")]
    [InlineData("Ñandú")]
    [InlineData("Größe/ÿ.png")]
    [InlineData("Ça va/é£¥.png")]
    public void ANameThatIsNotUtf8IsReadAsCp437(string name)
    {
        var cp437 = RawZip.Cp437.GetBytes(name);
        Assert.Throws<DecoderFallbackException>(() => new UTF8Encoding(false, true).GetString(cp437)); // really not UTF-8
        Assert.Equal(name, Decode(cp437));
    }

    [Fact]
    public void UnflaggedUtf8IsReadAsUtf8AsMacOsWritesIt()
    {
        var nfd = "cafe\u0301/狗.png";
        Assert.Equal(nfd, Decode(Encoding.UTF8.GetBytes(nfd)));
    }

    [Fact]
    public void TheUtf8FlagMakesTheNameUtf8AndInvalidBytesUnderItAreNotGuessed()
    {
        Assert.Equal("Größe", Decode(Encoding.UTF8.GetBytes("Größe"), RawZip.Utf8Flag));
        // Bytes that are CP437 "Bär" but flagged UTF-8: not valid, so no name rather than a U+FFFD or a guess.
        Assert.Null(Decode(RawZip.Cp437.GetBytes("Bär"), RawZip.Utf8Flag));
        // The flag wins over a Unicode Path field.
        var stored = Encoding.UTF8.GetBytes("Käse");
        Assert.Equal("Käse", Decode(stored, RawZip.Utf8Flag, RawZip.UnicodePath(stored, "Other")));
    }

    [Fact]
    public void AUnicodePathFieldWhoseCrcMatchesGivesTheName()
    {
        var garbage = new byte[] { 0x3F, 0x3F, 0xFE, 0x3F };
        var extra = new byte[] { 0x55, 0x54, 5, 0, 1, 0, 0, 0, 0 } // an extended-timestamp field first
            .Concat(RawZip.UnicodePath(garbage, "Ñandú")).ToArray();
        Assert.Equal("Ñandú", Decode(garbage, 0, extra));
    }

    [Fact]
    public void AUnicodePathFieldThatDoesNotMatchTheStoredNameIsIgnored()
    {
        var stored = RawZip.Cp437.GetBytes("Bör");
        Assert.Equal("Bör", Decode(stored, 0, RawZip.UnicodePath(stored, "Renamed", crc: ZipEntryNames.Crc32(stored) ^ 1)));
        var otherVersion = RawZip.UnicodePath(stored, "Renamed");
        otherVersion[4] = 2;
        Assert.Equal("Bör", Decode(stored, 0, otherVersion));
        var truncated = RawZip.UnicodePath(stored, "Renamed")[..7];
        Assert.Equal("Bör", Decode(stored, 0, truncated));
    }

    [Fact]
    public void Crc32IsTheZipCrc()
    {
        Assert.Equal(0xCBF43926u, ZipEntryNames.Crc32("123456789"u8));
        Assert.Equal(0u, ZipEntryNames.Crc32([]));
    }

    [Fact]
    public void TheCentralDirectoryIsReadInOrderWithFlagsNamesAndExtras()
    {
        var garbage = "??"u8.ToArray();
        var zip = new RawZip()
            .Add("a/1.png", Encoding.UTF8, [1])
            .Add("Größe/2.png", Encoding.UTF8, [2], utf8Flag: true)
            .Add(garbage, [3], extra: RawZip.UnicodePath(garbage, "x/3.png"))
            .ToStream();
        zip.Position = 5;

        var entries = ZipEntryNames.ReadCentralDirectory(zip);

        Assert.Equal(5, zip.Position);
        Assert.Equal(["a/1.png", "Größe/2.png", "x/3.png"], entries.Select(e => ZipEntryNames.Decode(e.Name, e.Flags, e.Extra)));
        Assert.Equal([0, RawZip.Utf8Flag, 0], entries.Select(e => (int)e.Flags));
        Assert.Empty(ZipEntryNames.ReadCentralDirectory(RawZip.Empty()));
    }
}
