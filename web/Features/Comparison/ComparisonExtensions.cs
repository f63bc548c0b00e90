namespace TransferHub.Web.Features.Comparison;

public static class ComparisonExtensions
{
    public static void AddComparison(this IServiceCollection services) => services.AddScoped<ComparisonService>();
}
