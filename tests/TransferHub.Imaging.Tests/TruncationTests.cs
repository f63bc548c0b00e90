using SkiaSharp;
using static TransferHub.Imaging.Tests.TestImages;

namespace TransferHub.Imaging.Tests;

/// <summary>
/// A file the decoder cannot read to its end is refused, with one reason, in every format and wherever it is cut:
/// SKCodec alone reports success for a cut progressive JPEG, a PNG missing (part of) IEND, a WebP missing its last
/// bytes and a GIF missing its trailer or a later frame.
/// </summary>
public sealed class TruncationTests
{
    /// <summary>A valid file of each kind the decoder accepts, and the format name it reports.</summary>
    private static (byte[] Data, string Format) Valid(string kind)
    {
        using var noise = Noise(48, 40, seed: 11);
        return kind switch
        {
            "progressive JPEG" => (TestFile("generated/progressive.jpg"), "JPEG"),
            "progressive JPEG (case file)" => (TestFile("cases/complete-progressive.jpg"), "JPEG"),
            "baseline JPEG" => (Jpeg(noise), "JPEG"),
            "interlaced PNG" => (TestFile("generated/interlaced.png"), "PNG"),
            "PNG" => (Png(noise), "PNG"),
            "lossy WebP" => (WebpLossy(noise), "WebP"),
            "lossless WebP" => (WebpLossless(noise), "WebP"),
            "animated WebP" => (TestFile("generated/animated.webp"), "WebP"),
            "GIF" => (TestFile("generated/frame.gif"), "GIF"),
            "animated GIF" => (TestFile("generated/animated.gif"), "GIF"),
            "BMP" => (Bmp(17, 9, (x, y) => new SKColor((byte)(x * 15), (byte)(y * 28), 99)), "BMP"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static readonly string[] Kinds =
    [
        "progressive JPEG", "progressive JPEG (case file)", "baseline JPEG", "interlaced PNG", "PNG",
        "lossy WebP", "lossless WebP", "animated WebP", "GIF", "animated GIF", "BMP",
    ];

    public static TheoryData<string> AllKinds() => [.. Kinds];

    /// <summary>Each kind cut at 20 %, 50 %, 90 % of its length, and with only its last byte missing (-1).</summary>
    public static TheoryData<string, double> KindsAndCuts()
    {
        var data = new TheoryData<string, double>();
        foreach (var kind in Kinds)
            foreach (var cut in new[] { 0.2, 0.5, 0.9, -1 })
                data.Add(kind, cut);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void TheCompleteFileDecodes(string kind)
    {
        var (data, format) = Valid(kind);
        using var image = ImageDecoder.Decode(data, kind);
        Assert.Equal(format, image.Format);
        Assert.True(image.Width > 0 && image.Height > 0);
    }

    [Theory]
    [MemberData(nameof(KindsAndCuts))]
    public void ACutFileIsRefusedAsTruncatedWithTheOneReason(string kind, double cut)
    {
        var (data, format) = Valid(kind);
        var length = cut < 0 ? data.Length - 1 : (int)(data.Length * cut);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data.AsSpan(0, length), "cut"));

        Assert.Equal(ImageDecoder.TruncatedReason(format), error.Reason);
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void EveryPrefixLongEnoughToRecogniseTheFormatIsRefusedAsTruncated(string kind)
    {
        var (data, format) = Valid(kind);
        var expected = ImageDecoder.TruncatedReason(format);
        // From 14 bytes on, every format's signature is complete (WebP needs 12, BMP 14).
        for (var length = 14; length < data.Length; length++)
        {
            string? reason = null;
            try
            {
                ImageDecoder.Decode(data.AsSpan(0, length), "cut").Dispose();
            }
            catch (ImageDecodeException e)
            {
                reason = e.Reason;
            }
            Assert.True(reason == expected, $"{kind} cut to {length} of {data.Length} bytes: {reason ?? "accepted"}");
        }
    }

    [Fact]
    public void TheTruncatedProgressiveCaseFileIsRefusedWithTheOneReason()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(TestFile("cases/truncated-progressive.jpg"), "arrow.jpg"));

        Assert.Equal("arrow.jpg", error.ImageName);
        Assert.Equal("the file is truncated or corrupt: the JPEG data ends before the image is complete (an interrupted upload or copy?).", error.Reason);
    }

    [Fact]
    public void BytesAfterTheEndMarkerAreAllowed()
    {
        using var noise = Noise(20, 20, seed: 12);
        byte[] trailer = [0x00, 0x01, 0x02, 0xFF, 0xD8, 0x47];

        foreach (var data in new[] { Jpeg(noise), Png(noise), TestFile("generated/animated.gif"), WebpLossless(noise) })
        {
            using var image = ImageDecoder.Decode([.. data, .. trailer], "with trailer");
            Assert.True(image.Width > 0);
        }
    }

    [Fact]
    public void AnEndMarkerInsideAnExifThumbnailDoesNotMakeACutJpegComplete()
    {
        using var noise = Noise(40, 40, seed: 13);
        var jpeg = Jpeg(noise);
        // An APP1 segment whose payload ends with an EOI (as an embedded thumbnail's does), then the image cut short.
        byte[] app1 = [0xFF, 0xE1, 0x00, 0x0A, (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0, 0xFF, 0xD9];
        var withThumbnailEnd = (byte[])[.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];

        using (ImageDecoder.Decode(withThumbnailEnd, "whole")) { }
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(withThumbnailEnd.AsSpan(0, withThumbnailEnd.Length / 2), "cut"));
        Assert.Equal(ImageDecoder.TruncatedReason("JPEG"), error.Reason);
    }

    [Fact]
    public void TheGeneratedFilesAreWhatTheirNamesSay()
    {
        var jpeg = TestFile("generated/progressive.jpg");
        Assert.Contains(jpeg.Select((b, i) => (b, i)), p => p.b == 0xFF && p.i + 1 < jpeg.Length && jpeg[p.i + 1] == 0xC2); // SOF2: progressive DCT
        Assert.Equal(1, TestFile("generated/interlaced.png")[28]); // IHDR interlace method 1: Adam7

        using var gif = SKCodec.Create(new SKMemoryStream(TestFile("generated/animated.gif")));
        using var webp = SKCodec.Create(new SKMemoryStream(TestFile("generated/animated.webp")));
        Assert.Equal(3, gif.FrameCount);
        Assert.Equal(2, webp.FrameCount);
    }
}
