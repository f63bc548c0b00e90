namespace TransferHub.Worker.Engine.Transforms;

// OWNED BY THE TRANSFORMS HELPER: replace the stubs below with the real implementation.

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
