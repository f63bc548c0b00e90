using SkiaSharp;
using static TransferHub.Imaging.Tests.TestImages;

namespace TransferHub.Imaging.Tests;

/// <summary>A PNG's eXIf orientation is applied as a JPEG's is (SKCodec reports none for PNG).</summary>
public sealed class PngExifOrientationTests
{
    private const ushort Orientation = 0x0112;

    [Fact]
    public void TheCaseFileWithOrientation3DecodesTurnedHalfWayRound()
    {
        var png = TestFile("cases/png-exif-orientation-3.png");
        using var stored = ImageDecoder.Decode(WithoutChunk(png, "eXIf"), "stored.png");
        using var image = ImageDecoder.Decode(png, "arrow.png");

        Assert.Equal((48, 48), (image.Width, image.Height));
        // Stored, the arrow points down: its shaft is at the top. Upright, it points up: the shaft is at the bottom.
        Assert.True(stored.GetRgb(24, 10).R < 40, "the stored file has the shaft at the top");
        Assert.True(image.GetRgb(24, 37).R < 40, $"the shaft should be at the bottom, got {image.GetRgb(24, 37)}");
        Assert.True(image.GetRgb(24, 3).R > 200, $"above the tip should be background, got {image.GetRgb(24, 3)}");
        for (var y = 0; y < 48; y++)
            for (var x = 0; x < 48; x++)
                Assert.Equal(stored.GetRgb(47 - x, 47 - y), image.GetRgb(x, y));
    }

    [Fact]
    public void APngWithoutExifIsUnchanged()
    {
        using var source = Noise(13, 7, seed: 21);
        using var image = ImageDecoder.Decode(Png(source), "plain.png");

        Assert.Equal((13, 7), (image.Width, image.Height));
        var c = source.GetPixel(0, 0);
        Assert.Equal((c.Red, c.Green, c.Blue), image.GetRgb(0, 0));
    }

    [Theory]
    [InlineData(1, 40, 20, 35, 5)]  // upright already
    [InlineData(2, 40, 20, 5, 5)]   // mirrored
    [InlineData(3, 40, 20, 5, 15)]  // upside down
    [InlineData(4, 40, 20, 35, 15)] // flipped
    [InlineData(5, 20, 40, 5, 35)]  // transposed
    [InlineData(6, 20, 40, 15, 35)] // turned 90° clockwise
    [InlineData(7, 20, 40, 15, 5)]  // transversed
    [InlineData(8, 20, 40, 5, 5)]   // turned 90° counter-clockwise
    public void EveryOrientationInEitherByteOrderPutsTheCornerMarkerWhereAJpegWouldHaveIt(ushort orientation, int width, int height, int markerX, int markerY)
    {
        // The same red square in the stored top-right corner (x 30..39, y 0..9) on grey as the JPEG orientation test.
        var grey = new SKColor(128, 128, 128);
        using var source = Bitmap(40, 20, (x, y) => x >= 30 && y < 10 ? Red : grey);
        var png = Png(source);

        foreach (var bigEndian in new[] { false, true })
        {
            using var image = ImageDecoder.Decode(WithPngExif(png, ExifTiff(bigEndian, (0x0100, 40), (Orientation, orientation))), "oriented.png");
            var where = $"orientation {orientation}, {(bigEndian ? "MM" : "II")}: ";
            Assert.Equal((width, height), (image.Width, image.Height));
            Assert.Equal((Red.Red, Red.Green, Red.Blue), image.GetRgb(markerX, markerY));
            Assert.Equal((grey.Red, grey.Green, grey.Blue), image.GetRgb(width - 1 - markerX, height - 1 - markerY));
        }
    }

    [Fact]
    public void AJpegStyleExifPrefixInTheChunkIsTolerated()
    {
        using var source = LeftRight(10, 4, Red, Blue);
        var tiff = ExifTiff(bigEndian: true, (Orientation, 3));

        using var image = ImageDecoder.Decode(WithPngExif(Png(source), [.. "Exif\0\0"u8, .. tiff]), "prefixed.png");

        Assert.Equal((0, 0, 255), image.GetRgb(0, 0)); // turned half-way round: blue now on the left
    }

    public static TheoryData<string, byte[]> UnusableExif() => new()
    {
        { "empty", [] },
        { "not TIFF", "hello, world"u8.ToArray() },
        { "wrong magic number", [.. "MM\0\x2B"u8, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0] },
        { "IFD offset past the end", [.. "II*\0"u8, 0xFF, 0, 0, 0] },
        { "entry count past the end", [.. "II*\0"u8, 8, 0, 0, 0, 0xFF, 0xFF, 0x12, 0x01] },
        { "orientation 0", ExifTiff(false, (Orientation, 0)) },
        { "orientation 9", ExifTiff(true, (Orientation, 9)) },
        { "orientation as a LONG", [.. "II*\0"u8, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 4, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0] },
        { "no orientation tag", ExifTiff(false, (0x0100, 10), (0x0101, 4)) },
    };

    [Theory]
    [MemberData(nameof(UnusableExif))]
    public void UnusableExifLeavesTheImageUprightAndIsNotAnError(string what, byte[] tiff)
    {
        using var source = LeftRight(10, 4, Red, Blue);

        using var image = ImageDecoder.Decode(WithPngExif(Png(source), tiff), what);

        Assert.Equal((10, 4), (image.Width, image.Height));
        Assert.Equal((255, 0, 0), image.GetRgb(0, 0));
    }

    [Fact]
    public void JpegExifOrientationIsStillAppliedOnce()
    {
        using var source = LeftRight(10, 4, Red, Blue);
        using var image = ImageDecoder.Decode(WithExifOrientation(Jpeg(source), 3), "turned.jpg");
        AssertNear(Blue, image.GetRgb(1, 1), 12);
    }

    /// <summary>The PNG with every chunk of <paramref name="type"/> removed.</summary>
    private static byte[] WithoutChunk(byte[] png, string type)
    {
        var output = new List<byte>(png.AsSpan(0, 8).ToArray());
        for (var i = 8; i < png.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(i));
            if (System.Text.Encoding.ASCII.GetString(png, i + 4, 4) != type)
                output.AddRange(png.AsSpan(i, 12 + length).ToArray());
            i += 12 + length;
        }
        return [.. output];
    }
}
