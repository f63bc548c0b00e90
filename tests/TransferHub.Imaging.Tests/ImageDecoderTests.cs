using SkiaSharp;
using static TransferHub.Imaging.Tests.TestImages;

namespace TransferHub.Imaging.Tests;

public class ImageDecoderTests
{
    [Fact]
    public void JpegDecodesWithItsSizeAndColours()
    {
        using var source = LeftRight(40, 30, Red, Blue);
        using var image = Decode(Jpeg(source));

        Assert.Equal((40, 30), (image.Width, image.Height));
        Assert.Equal("JPEG", image.Format);
        AssertNear(Red, image.GetRgb(5, 15), 12);
        AssertNear(Blue, image.GetRgb(35, 15), 12);
    }

    [Fact]
    public void PngDecodesToExactlyTheEncodedPixels()
    {
        using var source = Noise(23, 17, seed: 1);
        using var image = Decode(Png(source));

        Assert.Equal((23, 17), (image.Width, image.Height));
        for (var y = 0; y < 17; y++)
            for (var x = 0; x < 23; x++)
            {
                var c = source.GetPixel(x, y);
                Assert.Equal((c.Red, c.Green, c.Blue), image.GetRgb(x, y));
            }
    }

    [Fact]
    public void LosslessWebpDecodesToExactlyTheEncodedPixels()
    {
        using var source = Noise(19, 11, seed: 2);
        using var image = Decode(WebpLossless(source));

        Assert.Equal(("WebP", 19, 11), (image.Format, image.Width, image.Height));
        for (var y = 0; y < 11; y++)
            for (var x = 0; x < 19; x++)
            {
                var c = source.GetPixel(x, y);
                Assert.Equal((c.Red, c.Green, c.Blue), image.GetRgb(x, y));
            }
    }

    [Fact]
    public void BmpDecodesUprightWithItsColours()
    {
        using var image = Decode(Bmp(7, 6, (x, y) => y < 3 ? Red : x < 3 ? Green : Blue));

        Assert.Equal(("BMP", 7, 6), (image.Format, image.Width, image.Height));
        Assert.Equal((255, 0, 0), image.GetRgb(0, 0));
        Assert.Equal((0, 255, 0), image.GetRgb(0, 5));
        Assert.Equal((0, 0, 255), image.GetRgb(6, 5));
    }

    [Fact]
    public void GifDecodesItsFirstFrameWithPaletteColoursAndWhiteForTheTransparentIndex()
    {
        SKColor[] palette = [Red, Green, Blue, new SKColor(10, 20, 30)];
        var gif = Gif(5, 4, palette, (x, y) => (byte)(y == 3 ? 2 : x < 2 ? 0 : 1), transparentIndex: 2);

        using var image = Decode(gif);

        Assert.Equal(("GIF", 5, 4), (image.Format, image.Width, image.Height));
        Assert.Equal((255, 0, 0), image.GetRgb(0, 0));
        Assert.Equal((0, 255, 0), image.GetRgb(4, 0));
        Assert.Equal((255, 255, 255), image.GetRgb(2, 3)); // the transparent index, whatever its palette colour
    }

    [Fact]
    public void PalettePngDecodesItsPaletteColoursAndTransparentEntriesBecomeWhite()
    {
        SKColor[] palette = [new(200, 10, 10), new(10, 200, 10), new(255, 0, 0)];
        byte[] alpha = [255, 255, 0]; // index 2: fully transparent, hiding pure red
        var png = PalettePng(6, 3, palette, (x, y) => (byte)(y == 2 ? 2 : x % 2), alpha);

        using var image = Decode(png);

        Assert.Equal(("PNG", 6, 3), (image.Format, image.Width, image.Height));
        Assert.Equal((200, 10, 10), image.GetRgb(0, 0));
        Assert.Equal((10, 200, 10), image.GetRgb(1, 0));
        Assert.Equal((255, 255, 255), image.GetRgb(3, 2));
    }

    [Fact]
    public void TransparentPixelsAreCompositedOntoWhiteWhateverColourTheyHide()
    {
        using var source = Bitmap(3, 1, (x, _) => x switch
        {
            0 => new SKColor(255, 0, 0, 0),     // invisible red
            1 => new SKColor(0, 0, 255, 128),   // half-transparent blue
            _ => new SKColor(0, 255, 0, 255),   // opaque green
        });

        using var image = Decode(Png(source));

        Assert.Equal((255, 255, 255), image.GetRgb(0, 0));
        AssertNear(new SKColor(127, 127, 255), image.GetRgb(1, 0), 1);
        Assert.Equal((0, 255, 0), image.GetRgb(2, 0));
        Assert.All(image.Bitmap.Pixels, p => Assert.Equal(255, p.Alpha));
    }

    [Fact]
    public void ExifOrientation6RotatesTheImageClockwise()
    {
        using var source = LeftRight(40, 20, Red, Blue);
        var jpeg = Jpeg(source);

        using var plain = Decode(jpeg);
        using var rotated = Decode(WithExifOrientation(jpeg, 6));

        Assert.Equal((40, 20), (plain.Width, plain.Height));
        Assert.Equal((20, 40), (rotated.Width, rotated.Height));
        // Turned 90° clockwise, the left (red) half ends up on top, the right (blue) half at the bottom.
        AssertNear(Red, rotated.GetRgb(10, 5), 12, "top: ");
        AssertNear(Blue, rotated.GetRgb(10, 35), 12, "bottom: ");
    }

    [Theory]
    [InlineData(1, 40, 20, 35, 5)]  // upright already
    [InlineData(2, 40, 20, 5, 5)]   // mirrored: the top-right corner is really the top-left
    [InlineData(3, 40, 20, 5, 15)]  // upside down: top-right goes to bottom-left
    [InlineData(4, 40, 20, 35, 15)] // flipped: top-right goes to bottom-right
    [InlineData(5, 20, 40, 5, 35)]  // transposed
    [InlineData(6, 20, 40, 15, 35)] // turned 90° clockwise: top-right goes to bottom-right
    [InlineData(7, 20, 40, 15, 5)]  // transversed
    [InlineData(8, 20, 40, 5, 5)]   // turned 90° counter-clockwise: top-right goes to top-left
    public void EveryExifOrientationPutsTheCornerMarkerWhereTheViewerSeesIt(ushort orientation, int width, int height, int markerX, int markerY)
    {
        // A red square in the stored image's top-right corner (x 30..39, y 0..9) on grey.
        var grey = new SKColor(128, 128, 128);
        using var source = Bitmap(40, 20, (x, y) => x >= 30 && y < 10 ? Red : grey);

        using var image = Decode(WithExifOrientation(Jpeg(source), orientation));

        Assert.Equal((width, height), (image.Width, image.Height));
        AssertNear(Red, image.GetRgb(markerX, markerY), 12, $"orientation {orientation} marker: ");
        AssertNear(grey, image.GetRgb(width - 1 - markerX, height - 1 - markerY), 12, $"orientation {orientation} opposite corner: ");
    }

    [Theory]
    [InlineData("chelsea.jpg", 451, 300)]
    [InlineData("coffee.png", 300, 200)]
    [InlineData("astronaut.jpg", 256, 256)]
    public void RealPhotosDecodeWithTheirSizes(string file, int width, int height)
    {
        using var image = Decode(Photo(file));
        Assert.Equal((width, height), (image.Width, image.Height));
    }

    [Fact]
    public void EmptyFileIsRejectedWithAReason()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([], "empty.jpg"));
        Assert.Equal("empty.jpg", error.ImageName);
        Assert.Contains("empty", error.Reason);
    }

    [Fact]
    public void RandomBytesAreRejectedAsNotAnImageNamingTheSupportedFormats()
    {
        var bytes = new byte[2000];
        new Random(7).NextBytes(bytes);
        bytes[0] = 0x42; // not accidentally a signature

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes, "noise.bin"));
        Assert.Contains("not an image", error.Reason);
        Assert.Contains(ImageDecoder.SupportedFormats, error.Reason);
    }

    [Fact]
    public void TextIsRejectedAsNotAnImage()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode("hello, world\n"u8, "notes.txt"));
        Assert.Contains("not an image", error.Reason);
    }

    [Fact]
    public void HeicIsRejectedByName()
    {
        byte[] heic = [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8, .. new byte[64]];
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(heic, "IMG_0001.HEIC"));
        Assert.Contains("HEIC", error.Reason);
        Assert.Contains("not supported", error.Reason);
    }

    [Fact]
    public void TruncatedJpegIsRejectedWithAReason()
    {
        using var source = Noise(64, 64, seed: 3);
        var jpeg = Jpeg(source);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg.AsSpan(0, jpeg.Length * 6 / 10), "cut.jpg"));
        Assert.Contains("truncated", error.Reason);
        Assert.Contains("JPEG", error.Reason);
    }

    [Fact]
    public void TruncatedPngIsRejectedWithAReason()
    {
        using var source = Noise(64, 64, seed: 4);
        var png = Png(source);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, png.Length * 6 / 10), "cut.png"));
        Assert.Contains("truncated", error.Reason);
        Assert.Contains("PNG", error.Reason);
    }

    [Fact]
    public void FileCutInsideItsHeaderIsRejectedAsTruncatedOrCorrupt()
    {
        using var source = Noise(16, 16, seed: 5);
        var png = Png(source);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, 20), "stub.png"));
        Assert.Contains("PNG", error.Reason);
    }

    [Fact]
    public void TooManyPixelsIsRejectedNamingTheSizeAndTheLimit()
    {
        using var source = Noise(100, 80, seed: 6);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(Png(source), "big.png", maxPixels: 5000));
        Assert.Contains("100×80", error.Reason);
        Assert.Contains("8,000", error.Reason);
        Assert.Contains("5,000", error.Reason);
    }

    [Fact]
    public void LargeJpegCanBeDecodedAtAReducedScaleKeepingTheShortSideAboveTheMinimum()
    {
        using var source = LeftRight(800, 600, Red, Blue);
        var jpeg = Jpeg(source);

        using var full = ImageDecoder.Decode(jpeg, "big.jpg");
        using var reduced = ImageDecoder.Decode(jpeg, "big.jpg", maxPixels: 64_000_000, minShortSide: 100);

        Assert.Equal((800, 600), (full.Width, full.Height));
        Assert.True(reduced.Width < 800, $"expected a reduced decode, got {reduced.Width}×{reduced.Height}");
        Assert.InRange(reduced.Height, 100, 200); // the smallest libjpeg scale (k/8) that keeps ≥ 100 px
        Assert.Equal(800.0 / 600, (double)reduced.Width / reduced.Height, 2);
        AssertNear(Red, reduced.GetRgb(reduced.Width / 8, reduced.Height / 2), 12);
        AssertNear(Blue, reduced.GetRgb(reduced.Width * 7 / 8, reduced.Height / 2), 12);
    }

    [Fact]
    public void RawGreyAndRgbPixelsCanBeWrappedWithoutEncoding()
    {
        using var grey = DecodedImage.FromGray([0, 50, 100, 150, 200, 250], 3, 2);
        using var rgb = DecodedImage.FromRgb([1, 2, 3, 4, 5, 6], 2, 1);

        Assert.Equal((3, 2), (grey.Width, grey.Height));
        Assert.Equal((150, 150, 150), grey.GetRgb(0, 1));
        Assert.Equal((4, 5, 6), rgb.GetRgb(1, 0));
    }
}
