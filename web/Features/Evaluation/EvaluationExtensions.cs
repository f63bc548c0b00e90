namespace TransferHub.Web.Features.Evaluation;

public static class EvaluationExtensions
{
    public static void AddEvaluation(this IServiceCollection services) => services.AddScoped<EvaluationService>();
}
