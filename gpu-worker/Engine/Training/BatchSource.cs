using System.Collections.Concurrent;
using System.Threading.Channels;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;
using TransferHub.Imaging;

namespace TransferHub.Worker.Engine.Training;

/// <summary>A prepared batch: normalised CHW floats for <see cref="Count"/> images, and their labels.</summary>
public sealed record ImageBatch(float[] Pixels, long[] Labels, int[] ItemIndices, int Count);

/// <summary>
/// Turns dataset entries into batches through THE transform pipeline. Decoding and augmentation run in parallel,
/// up to <see cref="Prefetch"/> batches ahead of the model step. Un-augmented renders are cached for the job.
/// </summary>
public sealed class BatchSource(ImageStore images, TransformPipeline pipeline, long maxCachedBytes = 1L << 30)
{
    private const int Prefetch = 2;
    private readonly ConcurrentDictionary<string, byte[]> _plainRenders = new();
    private long _cachedBytes;

    public TransformPipeline Pipeline => pipeline;

    /// <summary>
    /// Yields batches of <paramref name="items"/> in <paramref name="order"/>. With <paramref name="augmentSeed"/> set,
    /// item i (its index in <paramref name="items"/>) is augmented with
    /// <see cref="TransformPipeline.SampleSeed"/>(augmentSeed, epoch, i) — independent of order and threads.
    /// </summary>
    public IEnumerable<ImageBatch> Batches(IReadOnlyList<DatasetEntry> items, IReadOnlyList<int> order, int batchSize,
        long? augmentSeed, int epoch, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ImageBatch>(new BoundedChannelOptions(Prefetch) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                for (var start = 0; start < order.Count; start += batchSize)
                {
                    var batch = Prepare(items, order, start, Math.Min(batchSize, order.Count - start), augmentSeed, epoch, stop.Token);
                    await channel.Writer.WriteAsync(batch, stop.Token);
                }
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None);

        try
        {
            while (true)
            {
                // The training thread blocks here; it is a dedicated thread, never a request thread.
                if (!channel.Reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult()) break;
                while (channel.Reader.TryRead(out var batch)) yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            try { producer.GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
        }
    }

    private ImageBatch Prepare(IReadOnlyList<DatasetEntry> items, IReadOnlyList<int> order, int start, int count,
        long? augmentSeed, int epoch, CancellationToken cancellationToken)
    {
        var plane = 3 * pipeline.Size * pipeline.Size;
        var pixels = new float[count * plane];
        var labels = new long[count];
        var indices = new int[count];
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, j =>
        {
            var index = order[start + j];
            var item = items[index];
            var rgb = Render(item, augmentSeed is { } seed ? TransformPipeline.SampleSeed(seed, epoch, index) : null);
            pipeline.Normalize(rgb, pixels.AsSpan(j * plane, plane));
            labels[j] = item.ClassIndex;
            indices[j] = index;
        });
        return new ImageBatch(pixels, labels, indices, count);
    }

    /// <summary>The pipeline's RGB output for one entry (decoded from the image store).</summary>
    public byte[] Render(DatasetEntry item, long? sampleSeed)
    {
        if (sampleSeed is null && _plainRenders.TryGetValue(item.Sha256, out var cached)) return cached;
        byte[] rgb;
        using (var image = ImageDecoder.Decode(images.Read(item.Sha256), item.Sha256))
            rgb = pipeline.Render(image, sampleSeed);
        if (sampleSeed is null && Interlocked.Read(ref _cachedBytes) + rgb.Length <= maxCachedBytes && _plainRenders.TryAdd(item.Sha256, rgb))
            Interlocked.Add(ref _cachedBytes, rgb.Length);
        return rgb;
    }
}
