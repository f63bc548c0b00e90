namespace TransferHub.Web.Features.Reports;

public static class ReportsExtensions
{
    public static void AddReports(this IServiceCollection services) => services.AddScoped<ReportService>();
}
