using Microsoft.AspNetCore.Components;

namespace TransferHub.Web.Features.Augmentation;

public partial class AugmentationPage
{
    private const int Variants = 8;
    private IReadOnlyList<(string Sha256, string Name, string? ClassName)>? _candidates;
    private readonly AugmentationForm _form = new();
    private PreviewResult? _result;
    private string? _sha;
    private long _seed = 1;
    private bool _busy;

    /// <summary>The dataset whose images are previewed, from the route (<c>/datasets/{DatasetId}/augmentations</c>); its 60 newest images are offered. A dataset the caller cannot see offers none.</summary>
    [Parameter]
    public int DatasetId { get; set; }

    /// <summary>The image to start with (<c>?image=sha256</c>), e.g. from the gallery.</summary>
    [SupplyParameterFromQuery(Name = "image")]
    public string? Image { get; set; }

    [Inject]
    private AugmentationPreviewService Previews { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        _candidates = await Previews.CandidatesAsync(UserId, DatasetId);
        _sha = Image is not null && _candidates.Any(c => c.Sha256 == Image) ? Image : _candidates.FirstOrDefault().Sha256;
    }

    private Task RerollAsync()
    {
        _seed = Random.Shared.NextInt64(1, 1_000_000);
        return PreviewAsync();
    }

    private async Task PreviewAsync()
    {
        if (_sha is null) return;
        _busy = true;
        await TryAsync(async () => _result = await Previews.PreviewAsync(UserId, DatasetId, _sha, _form, Variants, _seed));
        _busy = false;
    }
}
