using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Features.Evaluation;

public static class EvaluationExtensions
{
    public static void AddEvaluation(this IServiceCollection services) => services.AddScoped<EvaluationService>();

    /// <summary>Evaluation files for signed-in users under <c>/runs/{jobId}</c> (the drill-down's heatmaps).</summary>
    public static void MapEvaluation(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGroup("/runs/{jobId:int}").RequireAuthorization().MapHeatmaps();

    /// <summary><c>GET evaluated/{sha256}/heatmap.png?class=N</c>, on a group whose route holds <c>{jobId}</c> (the cookie
    /// users' <c>/runs/{jobId}</c> and the API's <c>/api/v1/jobs/{jobId}</c>): the Grad-CAM heatmap of one image the run
    /// evaluated, for class N of the run (its label or its prediction, say), computed by a worker. A run or image the
    /// caller cannot see is 404, a class outside the run's 400, a run without a stored model or no worker answering 409.</summary>
    public static RouteHandlerBuilder MapHeatmaps(this RouteGroupBuilder runs) =>
        runs.MapGet("/evaluated/{sha256}/heatmap.png", async (int jobId, string sha256, string? @class, HttpContext http, EvaluationService evaluations,
                CancellationToken ct) =>
            {
                if (!int.TryParse(@class, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var classIndex))
                    return Results.Problem("Query class: the index (from 0) of one of the run's classes.", statusCode: StatusCodes.Status400BadRequest);
                try
                {
                    var explanation = await evaluations.ExplainEvaluatedAsync(http.User.GetUserId(), jobId, sha256, classIndex, ct);
                    // The run's model and the image never change: the same URL always gives the same picture.
                    http.Response.Headers.CacheControl = "private, max-age=86400";
                    return Results.File(explanation.Heatmaps[0].Png, "image/png");
                }
                catch (NotFoundException)
                {
                    return Results.NotFound();
                }
                catch (InvalidInputException e)
                {
                    return Results.Problem(string.Join(" ", e.Problems.Select(p => p.Message)), statusCode: StatusCodes.Status400BadRequest);
                }
                catch (RuleViolationException e)
                {
                    return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
                }
            })
            .WithSummary("The Grad-CAM heatmap (Selvaraju et al. 2017) of one image the run evaluated, for one of its classes (PNG).")
            .WithDescription("Query class: the index (from 0) of one of the run's classes, e.g. the image's trueClass or predictedClass in " +
                "evaluation.json. The image with the map drawn over it in viridis (yellow = most evidence for the class), placed by the " +
                "run's resize mode; computed by a worker from the run's stored model.")
            .Produces<Stream>(StatusCodes.Status200OK, "image/png")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
}
