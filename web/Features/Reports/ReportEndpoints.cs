using System.Text;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Features.Reports;

/// <summary>
/// A finished run's evaluation as files: <c>GET /runs/{id}/report.pdf | per-class.csv | predictions.csv |
/// evaluation.json</c>. Authorized on the server like every team-owned object: a run the caller cannot see is 404.
/// </summary>
public static class ReportEndpoints
{
    public static void MapReports(this IEndpointRouteBuilder endpoints)
    {
        var runs = endpoints.MapGroup("/runs/{jobId:int}").RequireAuthorization();
        runs.MapGet("/report.pdf", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
            ServeAsync(jobId, http, reports, ct, r => Results.File(RunReportRenderer.Pdf(r), "application/pdf", $"run-{jobId}-report.pdf")));
        runs.MapGet("/per-class.csv", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
            ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.PerClassCsv(r), "text/csv", $"run-{jobId}-per-class.csv")));
        runs.MapGet("/predictions.csv", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
            ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.PredictionsCsv(r), "text/csv", $"run-{jobId}-predictions.csv")));
        runs.MapGet("/evaluation.json", (int jobId, HttpContext http, ReportService reports, CancellationToken ct) =>
            ServeAsync(jobId, http, reports, ct, r => Text(RunReportRenderer.Json(r), "application/json", $"run-{jobId}-evaluation.json")));
    }

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
