using Microsoft.Net.Http.Headers;
using TransferHub.Imaging;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Datasets;

/// <summary>
/// Image bytes for the gallery: <c>GET /datasets/{datasetId}/images/{sha256}/thumbnail|original</c>. Authorized on
/// the server: the caller must be able to see the dataset and the dataset must hold the image, otherwise 404 (as
/// for a missing image, so ids and hashes reveal nothing). Content-addressed, hence cacheable forever, but only
/// privately (the browser, not shared caches): the bytes belong to a team.
/// </summary>
public static class DatasetImageEndpoints
{
    public const string CacheControl = "private, max-age=31536000, immutable";

    public static string ThumbnailUrl(int datasetId, string sha256) => $"datasets/{datasetId}/images/{sha256}/thumbnail";

    public static string OriginalUrl(int datasetId, string sha256) => $"datasets/{datasetId}/images/{sha256}/original";

    public static void MapDatasetImages(this IEndpointRouteBuilder endpoints)
    {
        var images = endpoints.MapGroup("/datasets/{datasetId:int}/images/{sha256}").RequireAuthorization();
        images.MapGet("/thumbnail", (int datasetId, string sha256, HttpContext http, DatasetService datasets, ImageStore store, CancellationToken ct) =>
            ServeAsync(datasetId, sha256, http, datasets, ct, () => (store.OpenThumbnail(sha256), "image/jpeg")));
        images.MapGet("/original", (int datasetId, string sha256, HttpContext http, DatasetService datasets, ImageStore store, CancellationToken ct) =>
            ServeAsync(datasetId, sha256, http, datasets, ct, () =>
            {
                var stream = store.OpenImage(sha256);
                return (stream, ContentTypeOf(stream));
            }));
    }

    private static async Task<IResult> ServeAsync(int datasetId, string sha256, HttpContext http, DatasetService datasets,
        CancellationToken cancellationToken, Func<(Stream Stream, string ContentType)> open)
    {
        if (!ContentHash.IsSha256(sha256) || !await datasets.HasImageAsync(http.User.GetUserId(), datasetId, sha256, cancellationToken))
            return Results.NotFound();
        (Stream Stream, string ContentType) file;
        try
        {
            file = open();
        }
        catch (FileNotFoundException)
        {
            return Results.NotFound();
        }
        http.Response.Headers.CacheControl = CacheControl;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Stream(file.Stream, file.ContentType, entityTag: new EntityTagHeaderValue($"\"{sha256}\""), enableRangeProcessing: false);
    }

    /// <summary>The image format from its first bytes (the store keeps no file names).</summary>
    private static string ContentTypeOf(Stream stream)
    {
        Span<byte> head = stackalloc byte[12];
        var n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        head = head[..n];
        return head switch
        {
            [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "image/png",
            [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
            [(byte)'G', (byte)'I', (byte)'F', ..] => "image/gif",
            [(byte)'B', (byte)'M', ..] => "image/bmp",
            [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P'] => "image/webp",
            _ => "application/octet-stream",
        };
    }

}
