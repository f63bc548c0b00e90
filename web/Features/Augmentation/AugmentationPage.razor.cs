using Microsoft.AspNetCore.Components;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Augmentation;

public partial class AugmentationPage
{
    private readonly JobSettings _settings = JobSettings.ForMode(Data.TrainingMode.FineTune);

    /// <summary>The dataset whose images are previewed, from the route (<c>/datasets/{DatasetId}/augmentations</c>); every
    /// image is reachable (search or step). A dataset the caller cannot see offers none.</summary>
    [Parameter]
    public int DatasetId { get; set; }

    /// <summary>The image to start with (<c>?image=sha256</c>), e.g. from the gallery.</summary>
    [SupplyParameterFromQuery(Name = "image")]
    public string? Image { get; set; }

    /// <summary>The launch form, in fine-tuning, with this page's augmentation, image size and resize mode.</summary>
    private string TrainHref => $"datasets/{DatasetId}/train?{PreviewLink.QueryName}={PreviewLink.Encode(_settings)}";
}
