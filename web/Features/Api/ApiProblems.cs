using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using TransferHub.Web.Features.Datasets.Import;

namespace TransferHub.Web.Features.Api;

/// <summary>A request the API itself cannot take (malformed body, wrong content type, over a size limit), with the
/// status to answer and a message for the caller.</summary>
public sealed class ApiRequestException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// The one place that turns the feature services' refusals into HTTP answers for the whole <c>/api/v1</c> group, as
/// RFC 7807 problem details: <see cref="NotFoundException"/> 404 (also for what the caller may not know exists),
/// <see cref="ForbiddenException"/> 403, <see cref="InvalidInputException"/> 400 with <c>errors</c> by field, <see cref="RuleViolationException"/> 409, an <see cref="ArchiveException"/>
/// (not a zip, over a whole-archive limit) 400, <see cref="ApiRequestException"/> and <see cref="BadHttpRequestException"/>
/// their own status. A result without a
/// body (e.g. <c>NotFound()</c>) gets one, so API callers never see the site's HTML error pages.
/// </summary>
public sealed class ApiProblems : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        // The site re-executes body-less error responses as its HTML "not found" page; not here.
        if (context.HttpContext.Features.Get<IStatusCodePagesFeature>() is { } pages)
            pages.Enabled = false;
        try
        {
            var result = await next(context);
            return result is IStatusCodeHttpResult { StatusCode: >= 400 and var status } and not IValueHttpResult
                ? TypedResults.Problem(statusCode: status)
                : result;
        }
        catch (NotFoundException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status404NotFound);
        }
        catch (ForbiddenException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status403Forbidden);
        }
        catch (InvalidInputException e)
        {
            var errors = e.Problems.GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray());
            return TypedResults.ValidationProblem(errors, e.Message, title: "The request has invalid fields.",
                extensions: new Dictionary<string, object?> { ["problems"] = e.Problems.Select(p => p.Message).ToArray() });
        }
        catch (RuleViolationException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (ArchiveException e)
        {
            return TypedResults.Problem($"The zip was not imported: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
        }
        catch (ApiRequestException e)
        {
            return TypedResults.Problem(e.Message, statusCode: e.StatusCode);
        }
        catch (BadHttpRequestException e) // the server refused the body (over its size limit, cut short)
        {
            return TypedResults.Problem(e.Message, statusCode: e.StatusCode);
        }
    }
}

/// <summary>Reading request bodies for the API: JSON into a type, raw bytes into a temporary file or memory, each
/// within a size limit and with a clear 400/413/415 when the body is not what the endpoint takes.</summary>
public static class ApiBody
{
    private const int CopyBufferBytes = 80 * 1024;

    /// <exception cref="ApiRequestException">Not JSON (415), or JSON that does not fit <typeparamref name="T"/> (400).</exception>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class
    {
        RequireJson(request);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, options, cancellationToken)
                ?? throw new ApiRequestException(StatusCodes.Status400BadRequest, "The body is null; send a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ApiRequestException(StatusCodes.Status400BadRequest, $"The body does not fit this request: {JsonProblems.Describe(e)}");
        }
    }

    /// <exception cref="ApiRequestException">Not JSON (415), or not a JSON object (400).</exception>
    public static async Task<System.Text.Json.Nodes.JsonObject> ReadJsonObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        RequireJson(request);
        try
        {
            return await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken)
                as System.Text.Json.Nodes.JsonObject
                ?? throw new ApiRequestException(StatusCodes.Status400BadRequest, "Send a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ApiRequestException(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Streams the body into a temporary file that is deleted when the returned stream is closed; the body is
    /// never held in memory as a whole. The returned stream is at its start.</summary>
    /// <exception cref="ApiRequestException">A content type not in <paramref name="contentTypes"/> (415), or more
    /// than <paramref name="maxBytes"/> (413, before reading when Content-Length says so).</exception>
    public static async Task<FileStream> SpoolAsync(HttpRequest request, IReadOnlyList<string> contentTypes, long maxBytes,
        CancellationToken cancellationToken)
    {
        PrepareRaw(request, contentTypes, maxBytes);
        var path = Path.Combine(Path.GetTempPath(), $"transferhub-api-upload-{Guid.NewGuid():N}.tmp");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, CopyBufferBytes,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        try
        {
            await CopyAsync(request.Body, file, maxBytes, cancellationToken);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    /// <summary>The whole body in memory, for small uploads (an image to classify).</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, IReadOnlyList<string> contentTypes, long maxBytes,
        CancellationToken cancellationToken)
    {
        PrepareRaw(request, contentTypes, maxBytes);
        using var buffer = new MemoryStream();
        await CopyAsync(request.Body, buffer, maxBytes, cancellationToken);
        return buffer.ToArray();
    }

    private static void RequireJson(HttpRequest request)
    {
        if (!request.HasJsonContentType())
            throw new ApiRequestException(StatusCodes.Status415UnsupportedMediaType, "Send a JSON body with Content-Type: application/json.");
    }

    private static void PrepareRaw(HttpRequest request, IReadOnlyList<string> contentTypes, long maxBytes)
    {
        var type = request.ContentType?.Split(';')[0].Trim();
        if (type is null || !contentTypes.Any(t => MatchesType(type, t)))
            throw new ApiRequestException(StatusCodes.Status415UnsupportedMediaType,
                $"Send the file itself as the body (e.g. curl --data-binary @file) with Content-Type {string.Join(" or ", contentTypes)}.");
        if (request.ContentLength > maxBytes)
            throw TooLarge(maxBytes);
        // Kestrel's default limit (30 MB) is below the import limit; the copy below enforces this endpoint's own.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = maxBytes;
    }

    private static bool MatchesType(string type, string accepted) => accepted.EndsWith("/*", StringComparison.Ordinal)
        ? type.StartsWith(accepted[..^1], StringComparison.OrdinalIgnoreCase)
        : string.Equals(type, accepted, StringComparison.OrdinalIgnoreCase);

    private static async Task CopyAsync(Stream source, Stream target, long maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[CopyBufferBytes];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > maxBytes)
                throw TooLarge(maxBytes);
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    private static ApiRequestException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The body is larger than the limit of {DatasetArchive.Bytes(maxBytes)}.");
}
