using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;
using TransferHub.Imaging;

namespace TransferHub.Worker.Engine.Transforms;

/// <summary>
/// THE transform pipeline: resize/crop → augmentation → normalisation. Training, evaluation, augmentation
/// preview and prediction all go through this class, so the preview shows exactly what training sees.
/// </summary>
/// <remarks>
/// <para>Geometry. Without a seed (or with <see cref="AugmentationOptions.None"/>) the image is resized
/// deterministically: <see cref="ResizeMode.Squash"/> maps the whole image onto Size×Size, <see cref="ResizeMode.CenterCrop"/>
/// maps the centred square of side min(width, height). With a seed, the steps are, in this order:
/// random resized crop (area fraction uniform in [CropScaleMin, CropScaleMax], aspect ratio log-uniform in [3/4, 4/3],
/// ten tries as in torchvision, otherwise the whole image; when off, the resize mode's region) → horizontal flip
/// (p = 0.5) → vertical flip (p = 0.5) → rotation uniform in [−deg, +deg] about the centre. All of it is ONE affine
/// matrix and ONE Skia draw (bilinear from the nearest mipmap level, so strong downscales do not alias). The whole
/// source image is drawn through that matrix, so a rotation shows real image content beyond the crop where the
/// image has some; only area outside the image is filled with mid grey (128, 128, 128).</para>
/// <para>Colour, on the rendered bytes in a FIXED order: brightness (multiply by b), contrast (blend with the
/// image's mean grey, c), saturation (blend with each pixel's grey, s), each factor uniform in [1 − x, 1 + x] and each
/// result clamped to 0..255 (like torchvision's ColorJitter, minus its random order), then grayscale with probability p.
/// Grey is 0.299 R + 0.587 G + 0.114 B. Values are rounded half up once at the end.</para>
/// <para>Randomness. Each step draws from its own <see cref="Random"/> seeded from (sampleSeed, step), so switching
/// one augmentation on or off does not change what the others do for the same seed (previews stay comparable).
/// Same image + same seed → identical bytes, on any thread. The class is immutable and thread-safe.</para>
/// </remarks>
public sealed class TransformPipeline
{
    /// <summary>The colour of output pixels the image does not cover (rotations).</summary>
    public static readonly (byte R, byte G, byte B) FillColor = (128, 128, 128);

    // Bilinear from the nearest mipmap level: a downscale never skips source pixels by more than ~1.4× (no
    // aliasing worth the name), and it costs ~0.8 ms at 224 px where trilinear (Linear/Linear) measured ~5.7 ms
    // and Mitchell cubic ~2.5 ms (which also aliases below 1/2 scale). Skia caches an image's mipmaps.
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Nearest);
    private const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    private readonly int _size;
    private readonly ResizeMode _resize;
    private readonly AugmentationOptions _augmentation;
    private readonly Normalization _normalization;
    private readonly float[] _lut; // 3 × 256: normalised value of each byte, in OUTPUT channel order
    private readonly int[] _sourceChannel; // output channel c reads rgb[3i + _sourceChannel[c]]

    public TransformPipeline(int size, ResizeMode resize, AugmentationOptions augmentation, Normalization normalization)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 4096);
        ArgumentNullException.ThrowIfNull(augmentation);
        ArgumentNullException.ThrowIfNull(normalization);
        if (!Enum.IsDefined(resize)) throw new ArgumentOutOfRangeException(nameof(resize), resize, "unknown resize mode");
        var problems = augmentation.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems), nameof(augmentation));
        if (normalization.Mean is not { Length: 3 } || normalization.Std is not { Length: 3 })
            throw new ArgumentException("normalisation needs exactly 3 means and 3 standard deviations", nameof(normalization));
        if (normalization.Std.Any(s => s == 0 || !float.IsFinite(s)) || normalization.Mean.Any(m => !float.IsFinite(m))
            || !float.IsFinite(normalization.Scale))
            throw new ArgumentException("normalisation values must be finite and every std non-zero", nameof(normalization));

        _size = size;
        _resize = resize;
        _augmentation = augmentation;
        _normalization = normalization;
        _sourceChannel = normalization.Bgr ? [2, 1, 0] : [0, 1, 2];
        _lut = new float[3 * 256];
        for (var c = 0; c < 3; c++)
            for (var v = 0; v < 256; v++)
                _lut[c * 256 + v] = (v * normalization.Scale - normalization.Mean[c]) / normalization.Std[c];
    }

    public int Size => _size;
    public ResizeMode Resize => _resize;
    public AugmentationOptions Augmentation => _augmentation;
    public Normalization Normalization => _normalization;

    /// <summary>Size×Size RGB bytes (3 per pixel, row-major). No augmentation when <paramref name="sampleSeed"/> is null.</summary>
    public byte[] Render(DecodedImage image, long? sampleSeed)
    {
        var rgb = new byte[_size * _size * 3];
        RenderInto(image, sampleSeed, rgb);
        return rgb;
    }

    /// <summary>As <see cref="Render"/>, into a caller-owned buffer of exactly Size×Size×3 bytes.</summary>
    public void RenderInto(DecodedImage image, long? sampleSeed, Span<byte> rgb)
    {
        ArgumentNullException.ThrowIfNull(image);
        var n = _size * _size;
        if (rgb.Length != n * 3)
            throw new ArgumentException($"expected {n * 3} bytes for {_size}×{_size} RGB, got {rgb.Length}", nameof(rgb));

        var sample = sampleSeed is { } seed && !_augmentation.IsNone
            ? SampleAugmentation(seed, image.Width, image.Height)
            : Deterministic(image.Width, image.Height);

        var rgba = ArrayPool<byte>.Shared.Rent(n * 4);
        var pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            var info = new SKImageInfo(_size, _size, SKColorType.Rgba8888, SKAlphaType.Opaque, ImageDecoder.Srgb);
            using (var surface = SKSurface.Create(info, pin.AddrOfPinnedObject(), _size * 4)
                ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface."))
            {
                var canvas = surface.Canvas;
                canvas.Clear(new SKColor(FillColor.R, FillColor.G, FillColor.B));
                canvas.SetMatrix(GeometryMatrix(sample));
                using var paint = new SKPaint { IsAntialias = sample.RotationDegrees != 0 };
                canvas.DrawImage(image.Image, 0, 0, Sampling, paint);
                canvas.Flush();
            }
            ApplyColour(rgba.AsSpan(0, n * 4), rgb, sample);
        }
        finally
        {
            pin.Free();
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>Writes the normalised CHW floats (3×Size×Size) of <paramref name="rgb"/> into <paramref name="chw"/>.</summary>
    /// <remarks>value = (byte × Scale − Mean[c]) / Std[c]; plane c is R, G, B — or B, G, R when <see cref="Normalization.Bgr"/>,
    /// with Mean/Std given in that same order. Computed through a 256-entry table per channel (exactly the formula).</remarks>
    public void Normalize(ReadOnlySpan<byte> rgb, Span<float> chw)
    {
        var n = _size * _size;
        if (rgb.Length != n * 3)
            throw new ArgumentException($"expected {n * 3} bytes for {_size}×{_size} RGB, got {rgb.Length}", nameof(rgb));
        if (chw.Length != n * 3)
            throw new ArgumentException($"expected {n * 3} floats for 3×{_size}×{_size}, got {chw.Length}", nameof(chw));

        for (var c = 0; c < 3; c++)
        {
            ReadOnlySpan<float> lut = _lut.AsSpan(c * 256, 256);
            var plane = chw.Slice(c * n, n);
            var src = rgb[_sourceChannel[c]..];
            for (int i = 0, j = 0; i < plane.Length; i++, j += 3)
                plane[i] = lut[src[j]];
        }
    }

    public void Apply(DecodedImage image, long? sampleSeed, Span<float> chw)
    {
        var n3 = _size * _size * 3;
        var rgb = ArrayPool<byte>.Shared.Rent(n3);
        try
        {
            RenderInto(image, sampleSeed, rgb.AsSpan(0, n3));
            Normalize(rgb.AsSpan(0, n3), chw);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
        }
    }

    /// <summary>Lossless PNG of a size×size RGB image (decoding it gives back exactly these bytes).</summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> rgb, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        using var image = DecodedImage.FromRgb(rgb, size, size);
        using var pixmap = image.Bitmap.PeekPixels();
        using var png = pixmap.Encode(SKPngEncoderOptions.Default)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the PNG.");
        return png.ToArray();
    }

    /// <summary>The seed of one image's augmentation in one epoch; preview variant i uses (seed, 0, i).</summary>
    /// <remarks>Training uses (jobSeed, epochIndex, itemIndex). SplitMix64 chained over the three values: every
    /// bit of each input affects every bit of the result, and for a fixed seed and epoch distinct indices never collide.</remarks>
    public static long SampleSeed(long seed, int epoch, int index)
    {
        var h = SplitMix64(unchecked((ulong)seed));
        h = SplitMix64(h ^ (uint)epoch);
        h = SplitMix64(h ^ (uint)index);
        return unchecked((long)h);
    }

    /// <summary>The random choices for one sample (internal so tests and previews can see them).</summary>
    internal AugmentationSample SampleAugmentation(long sampleSeed, int width, int height)
    {
        var a = _augmentation;
        var crop = BaseRegion(width, height);
        if (a.CropScaleMax > 0)
            crop = RandomResizedCrop(StepRandom(sampleSeed, 0), width, height, a.CropScaleMin, a.CropScaleMax);
        var flipH = a.HorizontalFlip && StepRandom(sampleSeed, 1).NextDouble() < 0.5;
        var flipV = a.VerticalFlip && StepRandom(sampleSeed, 2).NextDouble() < 0.5;
        var angle = a.RotationDegrees > 0 ? Uniform(StepRandom(sampleSeed, 3), -a.RotationDegrees, a.RotationDegrees) : 0f;
        var brightness = a.Brightness > 0 ? Uniform(StepRandom(sampleSeed, 4), 1 - a.Brightness, 1 + a.Brightness) : 1f;
        var contrast = a.Contrast > 0 ? Uniform(StepRandom(sampleSeed, 5), 1 - a.Contrast, 1 + a.Contrast) : 1f;
        var saturation = a.Saturation > 0 ? Uniform(StepRandom(sampleSeed, 6), 1 - a.Saturation, 1 + a.Saturation) : 1f;
        var grayscale = a.GrayscaleProbability > 0 && StepRandom(sampleSeed, 7).NextDouble() < a.GrayscaleProbability;
        return new AugmentationSample(crop, flipH, flipV, angle, brightness, contrast, saturation, grayscale);
    }

    private AugmentationSample Deterministic(int width, int height)
        => new(BaseRegion(width, height), false, false, 0f, 1f, 1f, 1f, false);

    /// <summary>The part of a <paramref name="width"/>×<paramref name="height"/> image (pixels, after orientation) that the
    /// unaugmented render shows: the whole image for <see cref="ResizeMode.Squash"/>, its centred square for
    /// <see cref="ResizeMode.CenterCrop"/>.</summary>
    public SKRect SourceRegion(int width, int height) => BaseRegion(width, height);

    /// <summary>Maps a point of the unaugmented Size×Size render (0..Size on both axes) back onto the source image's pixel
    /// coordinates: the inverse of the resize mode's geometry, so anything computed on the network's input (a heatmap)
    /// can be drawn onto the image as displayed.</summary>
    public SKMatrix InputToSource(int width, int height) => GeometryMatrix(Deterministic(width, height)).Invert();

    /// <summary>The source region the resize mode maps onto the output square.</summary>
    private SKRect BaseRegion(int width, int height)
    {
        if (_resize == ResizeMode.Squash) return new SKRect(0, 0, width, height);
        var side = Math.Min(width, height);
        var left = (width - side) / 2f;
        var top = (height - side) / 2f;
        return new SKRect(left, top, left + side, top + side);
    }

    private static SKRect RandomResizedCrop(Random random, int width, int height, float scaleMin, float scaleMax)
    {
        double area = (double)width * height;
        double logMin = Math.Log(3.0 / 4.0), logMax = Math.Log(4.0 / 3.0);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * (scaleMin + (scaleMax - scaleMin) * random.NextDouble());
            var ratio = Math.Exp(logMin + (logMax - logMin) * random.NextDouble());
            var w = Math.Sqrt(target * ratio);
            var h = Math.Sqrt(target / ratio);
            if (w <= width && h <= height)
            {
                var x = (width - w) * random.NextDouble();
                var y = (height - h) * random.NextDouble();
                return new SKRect((float)x, (float)y, (float)(x + w), (float)(y + h));
            }
        }
        return new SKRect(0, 0, width, height);
    }

    /// <summary>Source pixel space → output pixel space: crop region onto the square, flips, rotation about the centre.</summary>
    internal SKMatrix GeometryMatrix(AugmentationSample s)
    {
        float size = _size, half = _size / 2f;
        var crop = s.Crop;
        var m = SKMatrix.CreateTranslation(-crop.Left, -crop.Top)
            .PostConcat(SKMatrix.CreateScale(size / crop.Width, size / crop.Height));
        if (s.FlipHorizontal || s.FlipVertical)
            m = m.PostConcat(SKMatrix.CreateScale(s.FlipHorizontal ? -1 : 1, s.FlipVertical ? -1 : 1, half, half));
        if (s.RotationDegrees != 0)
            m = m.PostConcat(SKMatrix.CreateRotationDegrees(s.RotationDegrees, half, half));
        return m;
    }

    /// <summary>RGBA (alpha ignored) → RGB with the sample's colour changes.</summary>
    private static void ApplyColour(ReadOnlySpan<byte> rgba, Span<byte> rgb, AugmentationSample s)
    {
        var pixels = MemoryMarshal.Cast<byte, uint>(rgba); // little-endian: R in the low byte
        bool brightness = s.Brightness != 1f, contrast = s.Contrast != 1f, saturation = s.Saturation != 1f;
        if (!brightness && !contrast && !saturation && !s.Grayscale)
        {
            for (int i = 0, di = 0; i < pixels.Length; i++, di += 3)
            {
                var p = pixels[i];
                rgb[di] = (byte)p;
                rgb[di + 1] = (byte)(p >> 8);
                rgb[di + 2] = (byte)(p >> 16);
            }
            return;
        }

        // Brightness and contrast act on each channel value alone, so both become one 256-entry table.
        Span<float> afterBrightness = stackalloc float[256];
        for (var v = 0; v < 256; v++) afterBrightness[v] = MathF.Min(v * s.Brightness, 255f);
        var offset = 0f;
        if (contrast)
        {
            // Contrast blends with the mean grey of the image as it is after brightness. Computed from per-channel
            // histograms: exact, independent of pixel order, and one integer pass.
            Span<int> histogram = stackalloc int[3 * 256];
            histogram.Clear();
            foreach (var p in pixels)
            {
                histogram[(int)(p & 0xFF)]++;
                histogram[256 + (int)((p >> 8) & 0xFF)]++;
                histogram[512 + (int)((p >> 16) & 0xFF)]++;
            }
            double sumR = 0, sumG = 0, sumB = 0;
            for (var v = 0; v < 256; v++)
            {
                sumR += (double)histogram[v] * afterBrightness[v];
                sumG += (double)histogram[256 + v] * afterBrightness[v];
                sumB += (double)histogram[512 + v] * afterBrightness[v];
            }
            var mean = (float)((LumaR * sumR + LumaG * sumG + LumaB * sumB) / pixels.Length);
            offset = (1 - s.Contrast) * mean;
        }
        Span<float> table = stackalloc float[256];
        for (var v = 0; v < 256; v++)
            table[v] = contrast ? Clamp(s.Contrast * afterBrightness[v] + offset) : afterBrightness[v];

        if (!saturation && !s.Grayscale)
        {
            Span<byte> bytes = stackalloc byte[256];
            for (var v = 0; v < 256; v++) bytes[v] = ToByte(table[v]);
            for (int i = 0, di = 0; i < pixels.Length; i++, di += 3)
            {
                var p = pixels[i];
                rgb[di] = bytes[(int)(p & 0xFF)];
                rgb[di + 1] = bytes[(int)((p >> 8) & 0xFF)];
                rgb[di + 2] = bytes[(int)((p >> 16) & 0xFF)];
            }
            return;
        }

        float sat = s.Saturation, keep = 1 - s.Saturation;
        for (int i = 0, di = 0; i < pixels.Length; i++, di += 3)
        {
            var p = pixels[i];
            float r = table[(int)(p & 0xFF)], g = table[(int)((p >> 8) & 0xFF)], b = table[(int)((p >> 16) & 0xFF)];
            if (saturation)
            {
                var grey = keep * Luma(r, g, b);
                r = Clamp(sat * r + grey);
                g = Clamp(sat * g + grey);
                b = Clamp(sat * b + grey);
            }
            if (s.Grayscale)
                r = g = b = Luma(r, g, b);
            rgb[di] = ToByte(r);
            rgb[di + 1] = ToByte(g);
            rgb[di + 2] = ToByte(b);
        }
    }

    private static float Luma(float r, float g, float b) => LumaR * r + LumaG * g + LumaB * b;
    private static float Clamp(float v) => v < 0f ? 0f : v > 255f ? 255f : v;
    private static byte ToByte(float v) => (byte)(int)(Clamp(v) + 0.5f);
    private static float Uniform(Random random, float min, float max) => (float)(min + (max - min) * random.NextDouble());

    /// <summary>An independent, reproducible stream per augmentation step.</summary>
    private static Random StepRandom(long sampleSeed, int step)
        => new((int)(SplitMix64(unchecked((ulong)sampleSeed + (ulong)(step + 1) * 0xD1B54A32D192ED03UL)) >> 33));

    internal static ulong SplitMix64(ulong x)
    {
        unchecked
        {
            var z = x + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>The drawn values of one augmented sample (or the identity for a deterministic render).</summary>
/// <param name="Crop">Source region, in source pixels after orientation, mapped onto the output square.</param>
internal readonly record struct AugmentationSample(
    SKRect Crop,
    bool FlipHorizontal,
    bool FlipVertical,
    float RotationDegrees,
    float Brightness,
    float Contrast,
    float Saturation,
    bool Grayscale);
