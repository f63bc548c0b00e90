using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Augmentation;

public partial class AugmentationPage
{
    private readonly JobSettings _settings = JobSettings.ForMode(Data.TrainingMode.FineTune);
    private List<BreadcrumbItem> _breadcrumbs = [];

    [Inject]
    private Datasets.DatasetService Datasets { get; set; } = default!;

    /// <summary>Breadcrumbs like every other page: Projects / project / dataset / Augmentations (none for a dataset the
    /// caller cannot see).</summary>
    protected override async Task OnParametersSetAsync()
    {
        var dataset = await Datasets.GetAsync(UserId, DatasetId);
        _breadcrumbs = dataset is null ? [] :
        [
            new("Projects", "projects"), new(dataset.ProjectName, $"projects/{dataset.Dataset.ProjectId}"),
            new(dataset.Dataset.Name, $"datasets/{DatasetId}"), new("Augmentations", null, disabled: true),
        ];
    }

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
