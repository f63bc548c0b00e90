using System.Text;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Features.Reports;

/// <summary>
/// A finished run's evaluation as files: <c>GET /runs/{id}/report.pdf | per-class.csv | predictions.csv |
/// evaluation.json</c>, and for auto runs <c>leaderboard.csv</c>. Authorized on the server like every team-owned object: a run the caller cannot see is 404.
/// </summary>
public static class ReportEndpoints
{
    public static void MapReports(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGroup("/runs/{jobId:int}").RequireAuthorization().MapReportFiles();

    /// <summary>The endpoints <see cref="MapReportFiles"/> made, for callers that add their own metadata.</summary>
    public sealed record ReportFileEndpoints(RouteHandlerBuilder Pdf, RouteHandlerBuilder PerClassCsv, RouteHandlerBuilder PredictionsCsv,
        RouteHandlerBuilder EvaluationJson, RouteHandlerBuilder LeaderboardCsv);

    /// <summary>The files on a group whose route holds <c>{jobId}</c>: the cookie users' <c>/runs/{jobId}</c> and
    /// the automation API's <c>/api/v1/jobs/{jobId}</c> (bearer tokens) serve the same bytes through this one method.</summary>
    public static ReportFileEndpoints MapReportFiles(this RouteGroupBuilder runs) => new(
        runs.MapGet("/report.pdf", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
                ServeAsync(jobId, http, reports, ct, r => Results.File(RunReportRenderer.Pdf(r), "application/pdf", $"run-{jobId}-report.pdf")))
            .Describe("The evaluation report as a PDF.", "application/pdf"),
        runs.MapGet("/per-class.csv", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
                ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.PerClassCsv(r), "text/csv", $"run-{jobId}-per-class.csv")))
            .Describe("Per-class precision, recall, F1 and support, with macro and weighted averages (CSV).", "text/csv"),
        runs.MapGet("/predictions.csv", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
                ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.PredictionsCsv(r), "text/csv", $"run-{jobId}-predictions.csv")))
            .Describe("Every evaluated image with its true and predicted class and confidence (CSV).", "text/csv"),
        runs.MapGet("/evaluation.json", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
                ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.Json(r), "application/json", $"run-{jobId}-evaluation.json")))
            .Describe("The whole evaluation report as JSON (schemaVersion 1).", "application/json"),
        runs.MapGet("/leaderboard.csv", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
                ServeAsync(jobId, http, reports, ct, r => r.Leaderboard is null
                    ? Results.Problem($"Run #{jobId} did not choose its classifier by cross-validation (only auto runs do), so it has no leaderboard.",
                        statusCode: StatusCodes.Status409Conflict)
                    : Text(RunReportRenderer.LeaderboardCsv(r), "text/csv", $"run-{jobId}-leaderboard.csv")))
            .Describe("An auto run's leaderboard: every candidate classifier scored by cross-validation on train + val, best first (CSV); " +
                "409 for other runs.", "text/csv"));

    private static RouteHandlerBuilder Describe(this RouteHandlerBuilder file, string summary, string contentType) => file
        .WithSummary(summary)
        .Produces<Stream>(StatusCodes.Status200OK, contentType)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);

    private static async Task<IResult> ServeAsync(int jobId, HttpContext http, ReportService reports, CancellationToken cancellationToken,
        Func<RunReport, IResult> render)
    {
        RunReport? report;
        try
        {
            report = await reports.BuildAsync(http.User.GetUserId(), jobId, cancellationToken);
        }
        catch (RuleViolationException e)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
        }
        if (report is null) return Results.NotFound();
        http.Response.Headers.CacheControl = "private, no-cache";
        return render(report);
    }

    private static IResult Text(string content, string contentType, string fileName) =>
        Results.File(Encoding.UTF8.GetBytes(content), $"{contentType}; charset=utf-8", fileName);
}
