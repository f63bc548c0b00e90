namespace TransferHub.Web.Features.Augmentation;

public static class AugmentationExtensions
{
    public static IServiceCollection AddAugmentation(this IServiceCollection services) =>
        services.AddScoped<AugmentationPreviewService>();
}
