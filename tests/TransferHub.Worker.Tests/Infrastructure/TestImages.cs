using System.Security.Cryptography;
using TransferHub.Worker.Engine.Training;

namespace TransferHub.Worker.Tests.Infrastructure;

public sealed record TestImage(string Name, byte[] Data, string Sha256, int ClassIndex, DataSplit Split);

/// <summary>The committed Fashion-MNIST subset (40 images per class) and photos, with a fixed split.</summary>
public static class TestImages
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "TestData");

    public static readonly string[] FashionClasses =
        ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"];

    /// <summary>Per class, in file order: <paramref name="train"/> train, then <paramref name="val"/> val, then
    /// <paramref name="test"/> test images, for the first <paramref name="classes"/> classes.</summary>
    public static IReadOnlyList<TestImage> Fashion(int classes = 10, int train = 24, int val = 8, int test = 8)
    {
        var images = new List<TestImage>();
        for (var c = 0; c < classes; c++)
        {
            var files = Directory.GetFiles(Path.Combine(Root, "fashion-mnist", FashionClasses[c]), "*.png").Order(StringComparer.Ordinal).ToArray();
            for (var i = 0; i < train + val + test; i++)
            {
                var data = File.ReadAllBytes(files[i]);
                var split = i < train ? DataSplit.Train : i < train + val ? DataSplit.Val : DataSplit.Test;
                images.Add(new TestImage($"{FashionClasses[c]}/{Path.GetFileName(files[i])}", data, Sha256(data), c, split));
            }
        }
        return images;
    }

    public static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(Root, "photos", name));

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
