using SkiaSharp;

namespace TransferHub.Imaging.Tests;

public sealed class ImageDigestTests
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "photos", name));

    private static byte[] Reencode(byte[] data, double scale, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = SKBitmap.Decode(data);
        var info = new SKImageInfo((int)(bitmap.Width * scale), (int)(bitmap.Height * scale));
        using var resized = bitmap.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var encoded = resized.Encode(format, quality);
        return encoded.ToArray();
    }

    private static ulong Hash(byte[] data)
    {
        using var image = ImageDecoder.Decode(data, "test");
        return ImageDigest.DifferenceHash(image);
    }

    [Fact]
    public void AResizedReencodedCopyIsANearDuplicate()
    {
        var original = Photo("chelsea.jpg");
        var copy = Reencode(original, 0.5, SKEncodedImageFormat.Jpeg, 60);
        Assert.InRange(ImageDigest.Distance(Hash(original), Hash(copy)), 0, 6);
        Assert.Equal(0, ImageDigest.Distance(Hash(original), Hash(original)));
    }

    [Fact]
    public void DifferentPhotosAreFarApart()
    {
        var hashes = new[] { "chelsea.jpg", "coffee.png", "astronaut.jpg" }.Select(p => Hash(Photo(p))).ToArray();
        Assert.True(ImageDigest.Distance(hashes[0], hashes[1]) > 16);
        Assert.True(ImageDigest.Distance(hashes[0], hashes[2]) > 16);
        Assert.True(ImageDigest.Distance(hashes[1], hashes[2]) > 16);
    }

    [Fact]
    public void AMirroredPhotoIsNotADuplicate()
    {
        var original = Photo("astronaut.jpg");
        using var bitmap = SKBitmap.Decode(original);
        using var mirrored = new SKBitmap(bitmap.Info);
        using (var canvas = new SKCanvas(mirrored))
        {
            canvas.Scale(-1, 1, bitmap.Width / 2f, 0);
            using var image = SKImage.FromBitmap(bitmap);
            canvas.DrawImage(image, 0, 0, SKSamplingOptions.Default);
        }
        using var encoded = mirrored.Encode(SKEncodedImageFormat.Png, 100);
        Assert.True(ImageDigest.Distance(Hash(original), Hash(encoded.ToArray())) > 16);
    }

    [Theory]
    [InlineData("chelsea.jpg", 256, 256, 170)]
    [InlineData("astronaut.jpg", 128, 128, 128)]
    [InlineData("coffee.png", 1000, 300, 200)]
    public void ThumbnailsKeepTheAspectRatioAndNeverUpscale(string photo, int maxSide, int width, int height)
    {
        using var image = ImageDecoder.Decode(Photo(photo), photo);
        var thumbnail = ImageDigest.Thumbnail(image, maxSide);
        using var decoded = SKBitmap.Decode(thumbnail);
        Assert.Equal(width, decoded.Width);
        Assert.Equal(height, decoded.Height);
        // The thumbnail shows the photo: its centre colour is close to the original's.
        var (r, g, b) = image.GetRgb(image.Width / 2, image.Height / 2);
        var c = decoded.GetPixel(width / 2, height / 2);
        Assert.True(Math.Abs(c.Red - r) + Math.Abs(c.Green - g) + Math.Abs(c.Blue - b) < 90, $"{c} vs ({r},{g},{b})");
    }
}
