using System.Diagnostics;
using SkiaSharp;
using TransferHub.Imaging;

/// <summary>
/// What decoding one large image costs in memory (issue 16 goal 3: an allowed 64 MP image should cost no more than
/// about 2× its decoded size). Makes a photo-like test image (gradients + noise) of --megapixels, encodes it as JPEG
/// (quality 90, plain and with EXIF orientation 6, which the decoder rotates) and PNG, then per file: this process's
/// peak resident set while <see cref="ImageDecoder.Decode(ReadOnlySpan{byte}, string, long)"/> runs, above the resident
/// set just before (Linux VmHWM, reset through /proc/self/clear_refs), against the decoded RGBA size (W × H × 4).
///   dotnet run -c Release --project bench/TransferHub.Bench -- --decode-memory [--megapixels 64]
/// </summary>
internal static class DecodeMemoryBench
{
    public static void Run(int megapixels)
    {
        var side = (int)Math.Sqrt(megapixels * 1_000_000.0);
        var (width, height) = (side, megapixels * 1_000_000 / side);
        var files = new List<(string Name, byte[] Data)>();
        using (var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque)))
        {
            using (var canvas = new SKCanvas(bitmap))
            using (var paint = new SKPaint())
            {
                paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height),
                    [SKColors.SkyBlue, SKColors.OrangeRed, SKColors.ForestGreen], SKShaderTileMode.Clamp);
                canvas.DrawRect(0, 0, width, height, paint);
                paint.Shader = SKShader.CreatePerlinNoiseTurbulence(0.02f, 0.02f, 2, 7);
                paint.BlendMode = SKBlendMode.Overlay;
                canvas.DrawRect(0, 0, width, height, paint);
            }
            using var image = SKImage.FromBitmap(bitmap);
            using (var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 90)) files.Add(("JPEG q90", jpeg.ToArray()));
            files.Add(("JPEG q90, EXIF orientation 6", WithExifOrientation6(files[0].Data)));
            using (var png = image.Encode(SKEncodedImageFormat.Png, 100)) files.Add(("PNG", png.ToArray()));
        }
        var decodedMiB = (double)width * height * 4 / (1 << 20);
        Console.WriteLine($"decode memory · {width}×{height} = {(double)width * height / 1e6:F1} MP · decoded RGBA {decodedMiB:F0} MiB · peak RSS above the RSS before decoding");
        Console.WriteLine("| file | encoded MiB | decode s | peak extra MiB | × decoded size |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (name, data) in files)
        {
            for (var attempt = 0; attempt < 2; attempt++) // the first decode of a format also maps the codec's code
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                File.WriteAllText("/proc/self/clear_refs", "5");
                var before = Rss().Current;
                var clock = Stopwatch.StartNew();
                using (var decoded = ImageDecoder.Decode(data, name, 64_000_000))
                {
                    if (decoded.Width * (long)decoded.Height != (long)width * height) throw new InvalidOperationException("wrong size");
                }
                var seconds = clock.Elapsed.TotalSeconds;
                var extra = Rss().Peak - before;
                if (attempt == 1)
                    Console.WriteLine($"| {name} | {data.Length / (double)(1 << 20):F1} | {seconds:F1} | {extra:F0} | {extra / decodedMiB:F2} |");
            }
        }
    }

    /// <summary>The JPEG with an APP1 EXIF segment saying orientation 6 (rotate 90° clockwise) after SOI.</summary>
    private static byte[] WithExifOrientation6(byte[] jpeg)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        var payload = new List<byte>("Exif\0\0"u8.ToArray());
        payload.AddRange(tiff);
        var length = payload.Count + 2;
        return [.. jpeg[..2], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
    }

    private static (double Current, double Peak) Rss()
    {
        var lines = File.ReadAllLines("/proc/self/status");
        double Read(string key) => double.Parse(lines.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return (Read("VmRSS:"), Read("VmHWM:"));
    }
}
