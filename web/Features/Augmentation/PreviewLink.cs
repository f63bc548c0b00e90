using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Augmentation;

/// <summary>Carries what the standalone preview page shows (augmentation, image size, resize mode) to the launch form in
/// its link (<c>/datasets/{id}/train?preview=…</c>): base64url of <c>{"augmentation":{…},"imageSize":N,"centerCrop":b}</c>,
/// the fields named as in <see cref="JobSettings"/>.</summary>
public static class PreviewLink
{
    public const string QueryName = "preview";

    public static string Encode(JobSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var json = new JsonObject
        {
            ["augmentation"] = JsonSerializer.SerializeToNode(settings.Augmentation),
            ["imageSize"] = settings.ImageSize,
            ["centerCrop"] = settings.CenterCrop,
        };
        return Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(json));
    }

    /// <summary>The settings a link carries (only augmentation, image size and resize mode set), or null when
    /// <paramref name="text"/> is not such a link's value.</summary>
    public static JobSettings? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            var json = JsonNode.Parse(Base64Url.DecodeFromChars(text))?.AsObject();
            if (json?["augmentation"]?.Deserialize<AugmentationForm>() is not { } augmentation) return null;
            return new JobSettings
            {
                Augmentation = augmentation,
                ImageSize = json["imageSize"]?.GetValue<int>() ?? Contracts.Jobs.JobDefaults.ImageSize,
                CenterCrop = json["centerCrop"]?.GetValue<bool>() ?? false,
            };
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
