using System.Security.Claims;
using Microsoft.Extensions.Options;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TransferHub.Web.Features.Api;

/// <summary>Teams, projects and datasets: <c>/api/v1/teams</c>, <c>/projects</c>, <c>/datasets/{datasetId}</c>, and
/// creating a dataset and uploading a zip into it. Thin adapters over the feature services, which authorize.</summary>
internal static class CatalogApi
{
    private static readonly string[] ZipTypes = ["application/zip", "application/x-zip-compressed", "application/octet-stream"];

    public static void MapCatalogApi(this RouteGroupBuilder api)
    {
        var teams = api.MapGroup("").WithTags("Teams and projects");
        teams.MapGet("/teams", async (ClaimsPrincipal user, TeamService service, CancellationToken ct) =>
                TypedResults.Ok(await service.ListAsync(user.GetUserId(), ct)))
            .WithName("ListTeams").WithSummary("The teams you are a member of, with your role in each.");
        teams.MapGet("/teams/{teamId:int}/projects", async (int teamId, ClaimsPrincipal user, TeamService service, ProjectService projects, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                _ = await service.GetAsync(userId, teamId, ct) ?? throw new NotFoundException("Team");
                return TypedResults.Ok(await projects.ListAsync(userId, teamId, ct));
            })
            .WithName("ListTeamProjects").WithSummary("A team's projects.").ProducesProblem(StatusCodes.Status404NotFound);
        teams.MapGet("/projects", async (ClaimsPrincipal user, ProjectService service, CancellationToken ct) =>
                TypedResults.Ok(await service.ListAsync(user.GetUserId(), cancellationToken: ct)))
            .WithName("ListProjects").WithSummary("The projects of all your teams.");
        teams.MapGet("/projects/{projectId:int}", async (int projectId, ClaimsPrincipal user, ProjectService service, CancellationToken ct) =>
                TypedResults.Ok(await service.GetAsync(user.GetUserId(), projectId, ct) ?? throw new NotFoundException("Project")))
            .WithName("GetProject").WithSummary("One project.").ProducesProblem(StatusCodes.Status404NotFound);
        teams.MapGet("/projects/{projectId:int}/jobs", async (int projectId, ClaimsPrincipal user, JobService service, CancellationToken ct) =>
                TypedResults.Ok((await service.ListAsync(user.GetUserId(), projectId, ct)).Select(ApiJobSummary.From).ToList()))
            .WithName("ListProjectJobs").WithTags("Jobs").WithSummary("The runs of a project's datasets, newest first.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        var datasets = api.MapGroup("").WithTags("Datasets");
        datasets.MapGet("/projects/{projectId:int}/datasets", async (int projectId, ClaimsPrincipal user, ProjectService projects, DatasetService service, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                _ = await projects.GetAsync(userId, projectId, ct) ?? throw new NotFoundException("Project");
                return TypedResults.Ok(await service.ListAsync(userId, projectId, ct));
            })
            .WithName("ListDatasets").WithSummary("A project's datasets with their image and class counts.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        datasets.MapPost("/projects/{projectId:int}/datasets", async (int projectId, HttpRequest request, ClaimsPrincipal user, DatasetService service,
                IOptions<JsonOptions> json, CancellationToken ct) =>
            {
                var body = await ApiBody.ReadJsonAsync<NewDataset>(request, json.Value.SerializerOptions, ct);
                var userId = user.GetUserId();
                var id = await service.CreateAsync(userId, projectId, body.Name, ct);
                var created = await service.GetAsync(userId, id, ct) ?? throw new NotFoundException("Dataset");
                return TypedResults.Created($"{ApiExtensions.RoutePrefix}/datasets/{id}", created);
            })
            .RequestBody<NewDataset>("application/json")
            .WithName("CreateDataset").WithSummary("Creates an empty dataset in a project (editors and owners).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        datasets.MapGet("/datasets/{datasetId:int}", async (int datasetId, ClaimsPrincipal user, DatasetService service, CancellationToken ct) =>
                TypedResults.Ok(await service.GetAsync(user.GetUserId(), datasetId, ct) ?? throw new NotFoundException("Dataset")))
            .WithName("GetDataset").WithSummary("A dataset with its images per class and split.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        datasets.MapPost("/datasets/{datasetId:int}/zip", async (int datasetId, HttpRequest request, ClaimsPrincipal user, DatasetImportService import,
                CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                // Refuse before receiving what may be gigabytes; the import checks again.
                await import.DemandImportAsync(userId, datasetId, ct);
                await using var zip = await ApiBody.SpoolAsync(request, ZipTypes, import.Limits.MaxUploadBytes, ct);
                return TypedResults.Ok(await import.ImportZipAsync(userId, datasetId, zip, cancellationToken: ct));
            })
            .RequestBody<Stream>("application/zip")
            .WithName("UploadZip")
            .WithSummary("Imports a zip laid out class/image or train|val|test/class/image (editors and owners).")
            .WithDescription("The body is the zip itself (curl --data-binary @file.zip). The same checks and limits as the upload on the " +
                "dataset page apply (Import:* settings): each file is accepted, rejected with its reason, or ignored (OS litter); accepted " +
                "files land even when others are rejected. A body that is not a zip, breaks a whole-archive limit, holds no files or holds no " +
                "image (only OS litter, text and the like) imports nothing (400). Class names are folder names in Unicode NFC with " +
                "surrounding whitespace removed (each such file has a `note`, and `notes` sums them up) and are case-sensitive.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
    }
}
