using Grpc.Core;
using SkiaSharp;
using TransferHub.Contracts.Duplicates;
using TransferHub.Imaging;
using TransferHub.Testing;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;
using Xunit.Abstractions;

namespace TransferHub.Worker.Tests.Inference;

/// <summary>EmbedImages through the worker's RPC with the real pretrained weights: altered copies group with their
/// original at the default threshold, unrelated pictures on white backgrounds do not.</summary>
[Collection(WorkerCollection.Name)]
public sealed class EmbedImagesRpcTests(WorkerFactory worker, ITestOutputHelper output)
{
    private static TestImage Image(string name, byte[] data) => new(name, data, TestImages.Sha256(data), 0, DataSplit.Train);

    /// <summary>A Fashion-MNIST garment drawn dark on white and enlarged to 128 px: an object on a plain white
    /// background, like a Tux Paint stamp (whose difference hashes collide).</summary>
    private static TestImage OnWhite(TestImage garment)
    {
        using var decoded = ImageDecoder.Decode(garment.Data, garment.Name);
        using var inverted = decoded.Bitmap.Copy();
        var pixels = inverted.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i++)
            if (i % 4 != 3) pixels[i] = (byte)(255 - pixels[i]);
        using var large = inverted.Resize(new SKImageInfo(128, 128), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var png = large.Encode(SKEncodedImageFormat.Png, 100);
        return Image("white-" + garment.Name, png.ToArray());
    }

    [Fact]
    public async Task AlteredCopiesGroupWithTheirOriginalAndUnrelatedPicturesOnWhiteDoNot()
    {
        var photos = new[] { "chelsea.jpg", "coffee.png", "astronaut.jpg" }.Select(n => Image(n, TestImages.Photo(n))).ToList();
        var copies = photos.SelectMany(p => ImageAlterations.All.Select(a => (Of: p, Copy: Image($"{a.Name} {p.Name}", a.Alter(p.Data))))).ToList();
        // One garment of each of six classes: different objects, all dark on white. The closest two (the dress and the
        // trousers, long dark shapes at 28 px) lie at cosine 0.916: the default must stay above it.
        var garments = TestImages.Fashion(classes: 10, train: 1, val: 0, test: 0).Where(g => g.ClassIndex is 0 or 1 or 3 or 5 or 8 or 9).Select(OnWhite).ToList();
        var all = photos.Concat(copies.Select(c => c.Copy)).Concat(garments).ToList();
        var client = worker.Client();
        Assert.Empty((await client.UploadAsync(all)).Rejected);

        var response = await client.EmbedImagesAsync(new EmbedImagesRequest { Backbone = "resnet18x3-imagenet", Sha256 = { all.Select(i => i.Sha256) } });

        Assert.Equal(all.Select(i => i.Sha256), response.Embeddings.Select(e => e.Sha256));
        var vectors = response.Embeddings.Select(e => e.Vector.ToArray()).ToList();
        Assert.All(vectors, v => Assert.Equal(1, Math.Sqrt(v.Sum(x => (double)x * x)), 4));
        Assert.Equal(response.Dim, vectors[0].Length);
        Assert.Contains("224px", response.Method);
        var index = all.Select((image, i) => (image.Sha256, i)).ToDictionary(p => p.Sha256, p => p.i);
        foreach (var (of, copy) in copies)
            output.WriteLine($"{copy.Name}: {SimilarityGroups.Dot(vectors[index[copy.Sha256]], vectors[index[of.Sha256]]):F3}");
        foreach (var a in garments)
            foreach (var b in garments.Where(b => string.CompareOrdinal(a.Name, b.Name) < 0))
                output.WriteLine($"{a.Name} ~ {b.Name}: cosine {SimilarityGroups.Dot(vectors[index[a.Sha256]], vectors[index[b.Sha256]]):F3}, " +
                    $"difference hashes {ImageDigest.Distance(DHash(a), DHash(b))} bits apart");

        var groups = SimilarityGroups.Find(vectors, SimilarityGroups.DefaultThreshold);

        var expected = photos.Select(p => new[] { p.Sha256 }.Concat(copies.Where(c => c.Of == p).Select(c => c.Copy.Sha256)).Order().ToList()).OrderBy(g => g[0]).ToList();
        Assert.Equal(expected, groups.Select(g => g.Select(m => all[m.Index].Sha256).Order().ToList()).OrderBy(g => g[0]).ToList());

        // A second call reads the features from the worker's cache and gives the same vectors.
        var again = await client.EmbedImagesAsync(new EmbedImagesRequest { Backbone = "resnet18x3-imagenet", Sha256 = { all[0].Sha256, all[^1].Sha256 } });
        Assert.Equal(2, again.Cached);
        Assert.Equal(vectors[0], again.Embeddings[0].Vector.ToArray());
    }

    [Fact]
    public async Task ARandomBackboneMissingImagesOrABadListAreRefusedWithTheReason()
    {
        var image = Image("chelsea.jpg", TestImages.Photo("chelsea.jpg"));
        var client = worker.Client();
        await client.UploadAsync([image]);

        async Task<RpcException> Refused(EmbedImagesRequest request) => await Assert.ThrowsAsync<RpcException>(() => client.EmbedImagesAsync(request).ResponseAsync);

        var random = await Refused(new EmbedImagesRequest { Backbone = "resnet18x3-random", Sha256 = { image.Sha256 } });
        Assert.Equal(StatusCode.InvalidArgument, random.StatusCode);
        Assert.Contains("no pretrained weights", random.Status.Detail);
        var none = await Refused(new EmbedImagesRequest { Backbone = "resnet18x3-imagenet" });
        Assert.Contains("sha256 needs 1 to 1024 images; got 0", none.Status.Detail);
        var twice = await Refused(new EmbedImagesRequest { Backbone = "resnet18x3-imagenet", Sha256 = { image.Sha256, image.Sha256 } });
        Assert.Contains("appears 2 times", twice.Status.Detail);
        var missing = await Refused(new EmbedImagesRequest { Backbone = "resnet18x3-imagenet", Sha256 = { new string('a', 64) } });
        Assert.Equal(StatusCode.FailedPrecondition, missing.StatusCode);
        Assert.Contains("upload them with UploadImages first", missing.Status.Detail);
    }

    private static ulong DHash(TestImage image)
    {
        using var decoded = ImageDecoder.Decode(image.Data, image.Name);
        return ImageDigest.DifferenceHash(decoded);
    }
}
