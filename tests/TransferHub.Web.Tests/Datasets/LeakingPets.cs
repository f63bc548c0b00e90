using SkiaSharp;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>A dataset with one known leak: the cat photo in train, a half-size JPEG re-encoding of it in test, and an
/// unrelated coffee photo in train. Used by the near-duplicate tests of the service and of the API.</summary>
internal static class LeakingPets
{
    public static byte[] HalfSizeJpeg(byte[] data)
    {
        using var bitmap = SKBitmap.Decode(data);
        using var small = bitmap.Resize(new SKImageInfo(bitmap.Width / 2, bitmap.Height / 2), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var encoded = small.Encode(SKEncodedImageFormat.Jpeg, 70);
        return encoded.ToArray();
    }

    public static async Task<(TeamScenario S, int DatasetId)> CreateAsync(WebAppFactory app, ServiceScope services)
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Pets");
        var cat = TestFiles.Photo("chelsea.jpg");
        var zip = TestFiles.Zip(("train/cat/chelsea.jpg", cat), ("test/cat/chelsea-small.jpg", HalfSizeJpeg(cat)), ("train/cup/coffee.png", TestFiles.Photo("coffee.png")));
        Assert.Equal(3, (await services.Import.ImportZipAsync(s.EditorId, datasetId, zip)).Accepted);
        return (s, datasetId);
    }
}
