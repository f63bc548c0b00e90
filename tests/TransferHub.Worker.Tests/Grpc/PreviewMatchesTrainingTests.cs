using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Worker.Tests.Infrastructure;
using TransferHub.Worker.V1;

namespace TransferHub.Worker.Tests.Grpc;

[Collection(WorkerCollection.Name)]
public sealed class PreviewMatchesTrainingTests(WorkerFactory worker)
{
    /// <summary>Both resize modes: with the random crop off, a centre-crop run crops the centred square (the photo is not
    /// square), and the preview must do the same, since the launch form opens it with the run's resize mode.</summary>
    [Theory]
    [InlineData(false, 0.5f)]
    [InlineData(true, 0f)]
    public async Task PreviewVariantsAreExactlyWhatTrainingFeedsTheModel(bool centerCrop, float cropScaleMin)
    {
        var photo = TestImages.Photo("chelsea.jpg");
        var sha = TestImages.Sha256(photo);
        var client = worker.Client();
        await client.UploadAsync([new TestImage("chelsea.jpg", photo, sha, 0, DataSplit.Train)]);
        var settings = new AugmentationSettings
        {
            CropScaleMin = cropScaleMin, CropScaleMax = cropScaleMin > 0 ? 1f : 0f, HorizontalFlip = true, RotationDegrees = 15,
            Brightness = 0.3f, Contrast = 0.3f, Saturation = 0.3f, GrayscaleProbability = 0.2f,
        };
        const int size = 64, count = 3, seed = 42;
        var resizeMode = centerCrop ? TransferHub.Worker.V1.ResizeMode.CenterCrop : TransferHub.Worker.V1.ResizeMode.Squash;

        var preview = await client.PreviewAugmentationsAsync(new PreviewAugmentationsRequest
        {
            Image = ByteString.CopyFrom(photo), Augmentation = settings, Count = count, Seed = seed, ImageSize = size, ResizeMode = resizeMode,
        });

        // What the training data path produces for item i of epoch 0 with the same seed.
        var augmentation = new AugmentationOptions
        {
            CropScaleMin = settings.CropScaleMin, CropScaleMax = settings.CropScaleMax, HorizontalFlip = true, RotationDegrees = 15,
            Brightness = 0.3f, Contrast = 0.3f, Saturation = 0.3f, GrayscaleProbability = 0.2f,
        };
        var pipeline = new TransformPipeline(size, centerCrop ? TransferHub.Worker.Engine.Transforms.ResizeMode.CenterCrop
            : TransferHub.Worker.Engine.Transforms.ResizeMode.Squash, augmentation, Normalization.ImageNet);
        var source = new BatchSource(worker.Services.GetRequiredService<ImageStore>(), pipeline);
        var items = Enumerable.Repeat(new DatasetEntry(sha, 0, DataSplit.Train), count).ToList();
        var batch = Assert.Single(source.Batches(items, [0, 1, 2], count, seed, epoch: 0, CancellationToken.None));

        Assert.Equal(count, preview.Png.Count);
        var plane = 3 * size * size;
        for (var i = 0; i < count; i++)
        {
            var expected = new float[plane];
            pipeline.Normalize(RgbOf(preview.Png[i].ToByteArray(), size), expected);
            Assert.Equal(expected, batch.Pixels.AsSpan(i * plane, plane).ToArray());
        }
        Assert.NotEqual(preview.Png[0], preview.Png[1]);

        var again = await client.PreviewAugmentationsAsync(new PreviewAugmentationsRequest
        {
            Image = ByteString.CopyFrom(photo), Augmentation = settings, Count = 1, Seed = seed, ImageSize = size, ResizeMode = resizeMode,
        });
        Assert.Equal(preview.Png[0], again.Png[0]);
    }

    private static byte[] RgbOf(byte[] png, int size)
    {
        using var bitmap = SKBitmap.Decode(png, new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Assert.Equal(size, bitmap.Width);
        var rgba = bitmap.Bytes;
        var rgb = new byte[size * size * 3];
        for (var p = 0; p < size * size; p++)
        {
            rgb[3 * p] = rgba[4 * p];
            rgb[3 * p + 1] = rgba[4 * p + 1];
            rgb[3 * p + 2] = rgba[4 * p + 2];
        }
        return rgb;
    }
}
