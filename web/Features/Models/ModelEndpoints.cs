using System.Text;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Features.Models;

/// <summary>
/// A finished run's model files: <c>model.zip</c> (the TorchSharp artifact: model.json + weights.safetensors, plus
/// model-card.json), <c>model.onnx</c> (for ensembles too) and <c>model-card.md</c>, for signed-in users under <c>/runs/{jobId}</c> and for tokens under
/// <c>/api/v1/jobs/{jobId}</c>. A run the caller cannot see is 404; one without a model (or evaluation) 409.
/// </summary>
public static class ModelEndpoints
{
    public static void AddModels(this WebApplicationBuilder builder) => builder.Services.AddScoped<ModelFilesService>();

    public static void MapModels(this IEndpointRouteBuilder endpoints)
    {
        var runs = endpoints.MapGroup("/runs/{jobId:int}").RequireAuthorization();
        runs.MapGet("/model.zip", (int jobId, HttpContext http, ModelFilesService files, CancellationToken ct) =>
            ServeAsync(async () => Results.Stream(await files.OpenModelZipAsync(http.User.GetUserId(), jobId, ct), "application/zip",
                $"run-{jobId}-model.zip")));
        runs.MapModelFiles();
    }

    /// <summary>The ONNX export and the model card on a group whose route holds <c>{jobId}</c>.</summary>
    public static (RouteHandlerBuilder Onnx, RouteHandlerBuilder Card) MapModelFiles(this RouteGroupBuilder runs) => (
        runs.MapGet("/model.onnx", (int jobId, HttpContext http, ModelFilesService files, CancellationToken ct) =>
                ServeAsync(async () => Results.Stream(await files.OpenOnnxAsync(http.User.GetUserId(), jobId, ct), "application/octet-stream",
                    $"run-{jobId}-model.onnx")))
            .WithSummary("A completed run's model as ONNX (opset 17; input float32 [N,3,H,W] RGB 0-255 resized as the run resized, the " +
                "backbone's normalisation inside; output probabilities [N, classes]; class names, preprocessing and test metrics in " +
                "metadata_props). Made by a worker the first time it is asked for, then kept.")
            .WithDescription("Everything the run's predictions do is inside the graph: an auto-mode model's feature preprocessing and " +
                "test-time flip too. For an ensemble: one graph whose probabilities are the mean of its members' (metadata " +
                "ensemble_members and member_run_ids list them); its members must resize images alike (same size and resize " +
                "mode) and have stored models, else 409.")
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict),
        runs.MapGet("/model-card.md", (int jobId, HttpContext http, ModelFilesService files, CancellationToken ct) =>
                ServeAsync(async () => Results.File(Encoding.UTF8.GetBytes(await files.ModelCardAsync(http.User.GetUserId(), jobId, ct)),
                    "text/markdown; charset=utf-8", $"run-{jobId}-model-card.md")))
            .WithSummary("The run's model card (Markdown): data, training settings, metrics with the evaluated split and per class, " +
                "limitations, intended use, the pretrained weights' source.")
            .Produces<string>(StatusCodes.Status200OK, "text/markdown")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict));

    private static async Task<IResult> ServeAsync(Func<Task<IResult>> serve)
    {
        try
        {
            return await serve();
        }
        catch (NotFoundException)
        {
            return Results.NotFound();
        }
        catch (RuleViolationException e)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }
}
