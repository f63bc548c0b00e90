using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Backbones;
using TransferHub.Worker.Tests.Infrastructure;

namespace TransferHub.Worker.Tests.Training;

/// <summary>Fine-tuning keeps decoded training images between epochs (BatchSource's decode cache): every later epoch
/// must see exactly the bytes that decoding afresh gives, and the kept pixels must stay within the budget.</summary>
public sealed class DecodedImageCacheTests : IDisposable
{
    private readonly TempFolder _data = TempFolder.Create();
    private readonly ImageStore _store;
    private readonly List<DatasetEntry> _items = [];
    private readonly TransformPipeline _pipeline = new(64, ResizeMode.Squash,
        new AugmentationOptions { CropScaleMin = 0.08f, CropScaleMax = 1, HorizontalFlip = true, RotationDegrees = 10, Brightness = 0.2f },
        Normalization.ImageNet);

    public DecodedImageCacheTests()
    {
        _store = new ImageStore(Path.Combine(_data.Path, "images"), 64_000_000);
        var photos = new[] { "chelsea.jpg", "coffee.png", "astronaut.jpg" };
        for (var i = 0; i < photos.Length; i++)
        {
            var data = TestImages.Photo(photos[i]);
            var sha = TestImages.Sha256(data);
            _store.Add(sha, photos[i], data);
            _items.Add(new DatasetEntry(sha, i, DataSplit.Train));
        }
    }

    public void Dispose() => _data.Dispose();

    private static List<float[]> Epochs(BatchSource source, IReadOnlyList<DatasetEntry> items, int epochs)
    {
        var order = Enumerable.Range(0, items.Count).ToArray();
        var pixels = new List<float[]>();
        for (var epoch = 0; epoch < epochs; epoch++)
            foreach (var batch in source.Batches(items, order, 2, augmentSeed: 7, epoch, CancellationToken.None))
                pixels.Add(batch.Pixels);
        return pixels;
    }

    [Fact]
    public void Augmented_batches_from_kept_decoded_images_equal_decoding_afresh_every_epoch()
    {
        using var fresh = new BatchSource(_store, _pipeline, maxDecodedBytes: 0);
        using var kept = new BatchSource(_store, _pipeline);

        var expected = Epochs(fresh, _items, 3);
        var actual = Epochs(kept, _items, 3);

        Assert.Equal(0, fresh.DecodedImages);
        Assert.Equal(_items.Count, kept.DecodedImages);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
        // Different epochs draw different crops: the cache keeps decoded pixels, not augmented results.
        Assert.NotEqual(actual[0], actual[2]);
    }

    [Fact]
    public void Kept_decoded_pixels_stay_within_the_budget_and_the_rest_is_decoded_afresh()
    {
        var sizes = _items.Select(i =>
        {
            using var image = TransferHub.Imaging.ImageDecoder.Decode(_store.Read(i.Sha256), i.Sha256);
            return (long)image.Width * image.Height * 4;
        }).ToArray();
        var budget = sizes.Min() + 1; // room for the smallest image only
        using var fresh = new BatchSource(_store, _pipeline, maxDecodedBytes: 0);
        using var bounded = new BatchSource(_store, _pipeline, maxDecodedBytes: budget);

        var expected = Epochs(fresh, _items, 2);
        var actual = Epochs(bounded, _items, 2);

        Assert.InRange(bounded.DecodedBytes, 0, budget);
        Assert.True(bounded.DecodedImages <= 1, $"{bounded.DecodedImages} images kept within a budget for one");
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public void Unaugmented_renders_do_not_keep_decoded_images_and_disposing_frees_the_kept_ones()
    {
        var source = new BatchSource(_store, _pipeline);
        foreach (var _ in source.Batches(_items, [0, 1, 2], 3, augmentSeed: null, 0, CancellationToken.None)) { }
        Assert.Equal(0, source.DecodedImages); // evaluation: its renders are cached instead

        Epochs(source, _items, 1);
        Assert.Equal(_items.Count, source.DecodedImages);
        source.Dispose();
        Assert.Equal(0, source.DecodedImages);
        Assert.Equal(0, source.DecodedBytes);
        Assert.Throws<ObjectDisposedException>(() => source.Render(_items[0], 1));
    }
}
