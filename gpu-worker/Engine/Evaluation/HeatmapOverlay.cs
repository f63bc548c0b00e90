using System.Runtime.InteropServices;
using SkiaSharp;
using TransferHub.Imaging;
using TransferHub.Worker.Engine.Transforms;

namespace TransferHub.Worker.Engine.Evaluation;

/// <summary>
/// Draws a map computed on the network's Size×Size input (a Grad-CAM heatmap, values in [0, 1]) over the image as a
/// person sees it: the whole decoded image (orientation applied), scaled to at most <see cref="MaxSide"/> pixels on its
/// longer side, with the map placed by the inverse of the run's resize mode (<see cref="TransformPipeline.InputToSource"/>):
/// squash stretches it over the whole image, centre crop puts it on the centred square and dims what the network never
/// saw. Colours: viridis (perceptually uniform, readable in greyscale and by most colour-blind readers; Matt Zucker's
/// degree-6 polynomial fit of matplotlib's table), blended with an opacity that grows with the value (0.15 at 0, 0.75 at 1)
/// so the image stays visible where the class finds no evidence.
/// </summary>
public static class HeatmapOverlay
{
    /// <summary>The longer side of the rendered PNG, in pixels (smaller images keep their size).</summary>
    public const int MaxSide = 512;
    private const float MinOpacity = 0.15f, MaxOpacity = 0.75f;
    /// <summary>Opacity of the black laid over image parts outside a centre crop.</summary>
    private const byte OutsideDim = 150;

    /// <summary>The PNG of <paramref name="map"/> blended over <paramref name="image"/>.</summary>
    /// <param name="map">Size×Size values in [0, 1], row-major, on the network's input (<paramref name="pipeline"/>'s Size).</param>
    public static byte[] Render(DecodedImage image, TransformPipeline pipeline, ReadOnlySpan<float> map)
    {
        var size = pipeline.Size;
        if (map.Length != size * size) throw new ArgumentException($"expected {size}×{size} values, got {map.Length}", nameof(map));
        var scale = Math.Min(1f, (float)MaxSide / Math.Max(image.Width, image.Height));
        var (width, height) = (Math.Max(1, (int)MathF.Round(image.Width * scale)), Math.Max(1, (int)MathF.Round(image.Height * scale)));

        var colours = new byte[size * size * 4];
        for (var i = 0; i < map.Length; i++)
        {
            var v = Math.Clamp(map[i], 0f, 1f);
            var (r, g, b) = Viridis(v);
            colours[4 * i] = r;
            colours[4 * i + 1] = g;
            colours[4 * i + 2] = b;
            colours[4 * i + 3] = (byte)MathF.Round(255 * (MinOpacity + (MaxOpacity - MinOpacity) * v));
        }

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        var canvas = surface.Canvas;
        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Nearest);
        var toDisplay = SKMatrix.CreateScale((float)width / image.Width, (float)height / image.Height);
        canvas.SetMatrix(toDisplay);
        canvas.DrawImage(image.Image, 0, 0, sampling);

        var seen = pipeline.SourceRegion(image.Width, image.Height);
        if (pipeline.Resize == ResizeMode.CenterCrop)
        {
            canvas.Save();
            canvas.ClipRect(seen, SKClipOperation.Difference);
            canvas.DrawColor(new SKColor(0, 0, 0, OutsideDim), SKBlendMode.SrcOver);
            canvas.Restore();
        }

        var pin = GCHandle.Alloc(colours, GCHandleType.Pinned);
        try
        {
            var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var heat = SKImage.FromPixels(info, pin.AddrOfPinnedObject(), size * 4)
                ?? throw new InvalidOperationException("SkiaSharp could not wrap the heatmap.");
            canvas.Save();
            canvas.ClipRect(seen);
            canvas.SetMatrix(pipeline.InputToSource(image.Width, image.Height).PostConcat(toDisplay));
            canvas.DrawImage(heat, 0, 0, sampling);
            canvas.Restore();
            canvas.Flush();
            using var snapshot = surface.Snapshot();
            using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException("SkiaSharp could not encode the PNG.");
            return png.ToArray();
        }
        finally
        {
            pin.Free();
        }
    }

    /// <summary>Where the map is largest, in the source image's pixel coordinates (after orientation): the centre of
    /// the last stage's grid cell holding the raw map's maximum (the first in row-major order on ties), mapped back by the
    /// resize mode. The upsampled map peaks there; a cell on the border makes a plateau out to the edge, whose
    /// row-major first pixel would sit on the image's edge rather than on the evidence.</summary>
    /// <param name="map">The raw map, row-major <paramref name="rows"/> × <paramref name="columns"/>.</param>
    public static SKPoint Peak(DecodedImage image, TransformPipeline pipeline, ReadOnlySpan<float> map, int rows, int columns)
    {
        if (map.Length != rows * columns) throw new ArgumentException($"expected {rows}×{columns} values, got {map.Length}", nameof(map));
        var best = 0;
        for (var i = 1; i < map.Length; i++)
            if (map[i] > map[best]) best = i;
        var size = (float)pipeline.Size;
        return pipeline.InputToSource(image.Width, image.Height).MapPoint((best % columns + 0.5f) * size / columns, (best / columns + 0.5f) * size / rows);
    }

    /// <summary>viridis(t) as sRGB bytes, t in [0, 1]: Zucker's polynomial fit of matplotlib's viridis (checked against the
    /// table at t = 0, 0.5 and 1: within 3.3/255 on every channel).</summary>
    public static (byte R, byte G, byte B) Viridis(float t)
    {
        static float Channel(float t, float c0, float c1, float c2, float c3, float c4, float c5, float c6) =>
            c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6)))));
        static byte Byte(float v) => (byte)MathF.Round(255 * Math.Clamp(v, 0f, 1f));
        return (
            Byte(Channel(t, 0.2777273272234177f, 0.1050930431085774f, -0.3308618287255563f, -4.634230498983486f, 6.228269936347081f, 4.776384997670288f, -5.435455855934631f)),
            Byte(Channel(t, 0.005407344544966578f, 1.404613529898575f, 0.214847559468213f, -5.799100973351585f, 14.17993336680509f, -13.74514537774601f, 4.645852612178535f)),
            Byte(Channel(t, 0.3340998053353061f, 1.384590162594685f, 0.09509516302823659f, -19.33244095627987f, 56.69055260068105f, -65.35303263337234f, 26.3124352495832f)));
    }
}
