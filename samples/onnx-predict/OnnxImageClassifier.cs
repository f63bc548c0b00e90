using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;
using TransferHub.Imaging;

namespace TransferHub.Samples.OnnxPredict;

/// <summary>One class and its probability (0–1).</summary>
public sealed record Prediction(int ClassIndex, string ClassName, float Probability);

/// <summary>
/// Classifies images with a model exported by TransferHub (worker RPC ExportOnnx). Everything it needs is in the
/// model's metadata_props: <c>image_size</c>, <c>resize_mode</c> ("squash" or "center_crop") and <c>class_names</c>
/// (a JSON array). The graph takes float32 [N,3,S,S] RGB planes of 0–255 and returns "probabilities" [N,classes].
/// </summary>
/// <remarks>Preprocessing is the worker's deterministic path (gpu-worker/Engine/Transforms/TransformPipeline.cs without
/// augmentation): decode with TransferHub.Imaging (EXIF orientation applied, alpha composited onto white), map the whole
/// image (squash) or its centred square (center_crop) onto S×S with one SkiaSharp draw, bilinear from the nearest
/// mipmap level. Thread-safe: ONNX Runtime sessions may run concurrently and nothing else is shared.</remarks>
public sealed class OnnxImageClassifier : IDisposable
{
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Nearest);
    private static readonly SKColorSpace Srgb = SKColorSpace.CreateSrgb();
    private readonly InferenceSession _session;

    /// <param name="model">An ONNX file written by TransferHub.</param>
    /// <exception cref="InvalidDataException">the model lacks TransferHub's metadata</exception>
    public OnnxImageClassifier(byte[] model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(model, options);
        var props = _session.ModelMetadata.CustomMetadataMap;
        string Get(string key) => props.TryGetValue(key, out var value)
            ? value
            : throw new InvalidDataException($"The model has no '{key}' metadata: is it a TransferHub export?");
        ImageSize = int.Parse(Get("image_size"), System.Globalization.CultureInfo.InvariantCulture);
        CenterCrop = Get("resize_mode") switch
        {
            "squash" => false,
            "center_crop" => true,
            var other => throw new InvalidDataException($"Unknown resize_mode '{other}'."),
        };
        ClassNames = JsonSerializer.Deserialize<string[]>(Get("class_names")) ?? [];
    }

    public OnnxImageClassifier(string path) : this(File.ReadAllBytes(path))
    {
    }

    /// <summary>The square input side S in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>true: the centred square of the image is used; false: the whole image is squashed to S×S.</summary>
    public bool CenterCrop { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every class with its probability, most probable first.</summary>
    /// <param name="encodedImage">A JPEG, PNG, WebP, GIF or BMP file's bytes.</param>
    /// <exception cref="ImageDecodeException">the bytes are not a decodable image</exception>
    public IReadOnlyList<Prediction> Classify(byte[] encodedImage)
    {
        var input = Preprocess(encodedImage);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 3, ImageSize, ImageSize]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, ["image"], [value], ["probabilities"]);
        var probabilities = outputs[0].GetTensorDataAsSpan<float>();
        var result = new Prediction[probabilities.Length];
        for (var i = 0; i < result.Length; i++) result[i] = new Prediction(i, ClassNames[i], probabilities[i]);
        return [.. result.OrderByDescending(p => p.Probability)];
    }

    /// <summary>The model input for one image: float32 [3,S,S] RGB planes, values 0–255.</summary>
    public float[] Preprocess(byte[] encodedImage)
    {
        using var decoded = ImageDecoder.Decode(encodedImage, "image");
        using var image = SKImage.FromBitmap(decoded.Bitmap);
        var size = ImageSize;
        var rgba = new byte[size * size * 4];
        var pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque, Srgb);
            using var surface = SKSurface.Create(info, pin.AddrOfPinnedObject(), size * 4)
                ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
            // The source region: the whole image, or its centred square.
            float w = decoded.Width, h = decoded.Height, left = 0, top = 0;
            if (CenterCrop)
            {
                var side = Math.Min(decoded.Width, decoded.Height);
                left = (decoded.Width - side) / 2f;
                top = (decoded.Height - side) / 2f;
                w = h = side;
            }
            surface.Canvas.Clear(new SKColor(128, 128, 128));
            surface.Canvas.SetMatrix(SKMatrix.CreateTranslation(-left, -top).PostConcat(SKMatrix.CreateScale(size / w, size / h)));
            using var paint = new SKPaint { IsAntialias = false };
            surface.Canvas.DrawImage(image, 0, 0, Sampling, paint);
            surface.Canvas.Flush();
        }
        finally
        {
            pin.Free();
        }

        var n = size * size;
        var planes = new float[3 * n];
        for (var i = 0; i < n; i++)
        {
            planes[i] = rgba[i * 4];
            planes[n + i] = rgba[i * 4 + 1];
            planes[2 * n + i] = rgba[i * 4 + 2];
        }
        return planes;
    }

    public void Dispose() => _session.Dispose();
}
