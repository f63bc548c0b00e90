using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.OpenApi;

namespace TransferHub.Web.Features.Api;

/// <summary>
/// The automation API (ADR 009): JSON under <c>/api/v1</c>, authenticated only by personal access tokens
/// (<see cref="PersonalAccessTokenHandler"/>; no cookies, so no antiforgery), each endpoint a thin adapter over the
/// feature service the pages use, errors as problem details (<see cref="ApiProblems"/>). Its OpenAPI description is
/// served at <c>/openapi/v1.json</c> and committed as <c>docs/api/openapi-v1.json</c>.
/// </summary>
public static class ApiExtensions
{
    public const string RoutePrefix = "/api/v1";
    public const string PolicyName = "ApiToken";
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/{documentName}.json";
    private const string SecuritySchemeName = "personalAccessToken";

    public static void AddApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddScoped<PersonalAccessTokenService>();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, PersonalAccessTokenHandler>(PersonalAccessTokenHandler.SchemeName, displayName: null, _ => { });
        services.AddAuthorizationBuilder().AddPolicy(PolicyName, policy => policy
            .AddAuthenticationSchemes(PersonalAccessTokenHandler.SchemeName)
            .RequireAuthenticatedUser());
        // camelCase names (the web default), enums by name ("status": "completed", "mode": "fineTune") and numbers as
        // numbers only (the web default also reads "4" as 4, which the document would then have to allow everywhere).
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => description.RelativePath?.StartsWith(RoutePrefix[1..] + "/", StringComparison.Ordinal) == true;
            options.AddOperationTransformer(ApiRequestBody.DescribeAsync);
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
        });
    }

    public static void MapApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath);
        var api = app.MapGroup(RoutePrefix)
            .RequireAuthorization(PolicyName)
            .DisableAntiforgery()
            .AddEndpointFilter<ApiProblems>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        api.MapCatalogApi();
        api.MapJobsApi();
        api.MapDatasetQualityApi();
        // Anything else under /api/v1 is a JSON 404, not the site's HTML page.
        api.MapFallback("{**path}", () => TypedResults.Problem("There is no such API endpoint.", statusCode: StatusCodes.Status404NotFound))
            .ExcludeFromDescription();
    }

    /// <summary>Title, the bearer scheme every operation needs, and no server address (the document is the same wherever
    /// it is served, so the committed copy can be compared with what the app serves).</summary>
    private static void Describe(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "TransferHub automation API",
            Version = DocumentName,
            Description = "Script TransferHub: list teams, projects and datasets, create a dataset and upload a zip, start and follow " +
                "runs, download reports and models, classify images. Authenticate with a personal access token made under Account → " +
                "API tokens: `Authorization: Bearer thp_…`. You can do exactly what you can do in the web app: an object of a team " +
                "you are not in is 404, a change your role does not allow 403. Errors are RFC 7807 problem details.",
        };
        document.Servers?.Clear();
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "thp_<43 characters>",
            Description = "A personal access token from Account → API tokens. A missing, unknown, revoked or expired token is 401.",
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [] }];
    }
}
