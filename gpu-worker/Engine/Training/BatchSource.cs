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
/// up to <see cref="Prefetch"/> batches ahead of the model step. Un-augmented renders are cached for the job (up to
/// <paramref name="maxCachedBytes"/> of RGB bytes). Images rendered with augmentation keep their decoded pixels (full
/// resolution, RGBA) for the job, up to <paramref name="maxDecodedBytes"/>: every fine-tuning epoch after the first
/// then draws its random crops from memory instead of reading and decoding each file again, with byte-identical
/// results (the same pixels go through the same draw). Images beyond the budget are decoded afresh each time.
/// Dispose the source when the job ends: it frees the decoded images.
/// </summary>
public sealed class BatchSource(ImageStore images, TransformPipeline pipeline, long maxCachedBytes = 1L << 30,
    long maxDecodedBytes = BatchSource.DefaultMaxDecodedBytes) : IDisposable
{
    /// <summary>The default budget of kept decoded images: 256 MiB of RGBA pixels (Tux Paint's 286 photos decode to
    /// 56 MB; one 12-megapixel photo to 48 MB).</summary>
    public const long DefaultMaxDecodedBytes = 256L << 20;
    private const int Prefetch = 2;
    private readonly ConcurrentDictionary<string, byte[]> _plainRenders = new();
    private readonly ConcurrentDictionary<string, DecodedImage> _decoded = new();
    private long _cachedBytes;
    private long _decodedBytes;
    private volatile bool _disposed;

    /// <summary>Bytes of decoded pixels kept for augmented renders (never above the budget).</summary>
    public long DecodedBytes => Interlocked.Read(ref _decodedBytes);

    /// <summary>How many decoded images are kept.</summary>
    public int DecodedImages => _decoded.Count;

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

    /// <summary>The pipeline's RGB output for one entry (decoded from the image store, or from the kept decoded pixels).</summary>
    public byte[] Render(DatasetEntry item, long? sampleSeed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sampleSeed is null && _plainRenders.TryGetValue(item.Sha256, out var cached)) return cached;
        byte[] rgb;
        if (_decoded.TryGetValue(item.Sha256, out var kept))
        {
            rgb = pipeline.Render(kept, sampleSeed);
        }
        else
        {
            var image = ImageDecoder.Decode(images.Read(item.Sha256), item.Sha256);
            // Only augmented renders keep the decoded image: an un-augmented render is itself cached below, and
            // evaluation images are never augmented.
            var keep = sampleSeed is not null && TryKeep(item.Sha256, image);
            try
            {
                rgb = pipeline.Render(image, sampleSeed);
            }
            finally
            {
                if (!keep) image.Dispose();
            }
        }
        if (sampleSeed is null && Interlocked.Read(ref _cachedBytes) + rgb.Length <= maxCachedBytes && _plainRenders.TryAdd(item.Sha256, rgb))
            Interlocked.Add(ref _cachedBytes, rgb.Length);
        return rgb;
    }

    /// <summary>Keeps <paramref name="image"/> when it fits the budget and no other thread kept this entry first.</summary>
    private bool TryKeep(string sha256, DecodedImage image)
    {
        var bytes = (long)image.Width * image.Height * 4;
        if (Interlocked.Add(ref _decodedBytes, bytes) > maxDecodedBytes || !_decoded.TryAdd(sha256, image))
        {
            Interlocked.Add(ref _decodedBytes, -bytes);
            return false;
        }
        return true;
    }

    /// <summary>Frees the kept decoded images. Call after the last batch (no render may be running).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var image in _decoded.Values) image.Dispose();
        _decoded.Clear();
        Interlocked.Exchange(ref _decodedBytes, 0);
    }
}
