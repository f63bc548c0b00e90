namespace TransferHub.Worker.Engine.Transforms;

// OWNED BY THE TRANSFORMS HELPER: replace the stubs below with the real implementation.

/// <summary>An image could not be accepted; <see cref="Reason"/> says why in words a user understands.</summary>
public sealed class ImageDecodeException(string imageName, string reason) : Exception($"{imageName}: {reason}")
{
    public string ImageName { get; } = imageName;
    public string Reason { get; } = reason;
}

/// <summary>A decoded image: orientation applied, alpha composited onto a fixed background, RGB.</summary>
public sealed class DecodedImage : IDisposable
{
    public int Width => throw new NotImplementedException();
    public int Height => throw new NotImplementedException();
    public void Dispose() { }
}

public static class ImageDecoder
{
    /// <summary>Decodes JPEG, PNG (palette, alpha), WebP, GIF (first frame) or BMP; throws <see cref="ImageDecodeException"/>.</summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels = 64_000_000) => throw new NotImplementedException();
}

/// <summary>
/// THE transform pipeline: resize/crop → augmentation → normalisation. Training, evaluation, augmentation
/// preview and prediction all go through this class, so the preview shows exactly what training sees.
/// </summary>
public sealed class TransformPipeline(int size, ResizeMode resize, AugmentationOptions augmentation, Normalization normalization)
{
    public int Size => size;
    public ResizeMode Resize => resize;
    public AugmentationOptions Augmentation => augmentation;
    public Normalization Normalization => normalization;

    /// <summary>Size×Size RGB bytes (3 per pixel, row-major). No augmentation when <paramref name="sampleSeed"/> is null.</summary>
    public byte[] Render(DecodedImage image, long? sampleSeed) => throw new NotImplementedException();

    /// <summary>Writes the normalised CHW floats (3×Size×Size) of <paramref name="rgb"/> into <paramref name="chw"/>.</summary>
    public void Normalize(ReadOnlySpan<byte> rgb, Span<float> chw) => throw new NotImplementedException();

    public void Apply(DecodedImage image, long? sampleSeed, Span<float> chw) => Normalize(Render(image, sampleSeed), chw);

    public static byte[] EncodePng(ReadOnlySpan<byte> rgb, int size) => throw new NotImplementedException();

    /// <summary>The seed of one image's augmentation in one epoch; preview variant i uses (seed, 0, i).</summary>
    public static long SampleSeed(long seed, int epoch, int index) => throw new NotImplementedException();
}
