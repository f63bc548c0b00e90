using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TransferHub.Web.Features.Api;

/// <summary>Documents the body of an endpoint that reads it itself (<see cref="ApiBody"/>). Unlike <c>Accepts</c>,
/// which routing also uses to pick endpoints by content type, this is for the OpenAPI document only, so a wrong content
/// type reaches the handler and gets its 415 with a reason instead of matching no endpoint.</summary>
public sealed record ApiRequestBody(Type Type, IReadOnlyList<string> ContentTypes)
{
    /// <summary>Adds the body to the operation: binary (<see cref="Stream"/>) or the type's JSON schema.</summary>
    internal static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ApiRequestBody>().FirstOrDefault() is not { } body)
            return;
        var schema = body.Type == typeof(Stream)
            ? new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" }
            : await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = body.ContentTypes.ToDictionary(type => type, _ => new OpenApiMediaType { Schema = schema }),
        };
    }
}

public static class ApiRequestBodyExtensions
{
    public static RouteHandlerBuilder RequestBody<T>(this RouteHandlerBuilder endpoint, string contentType, params string[] additionalContentTypes) =>
        endpoint.WithMetadata(new ApiRequestBody(typeof(T), [contentType, .. additionalContentTypes]));
}
