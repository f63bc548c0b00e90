using Microsoft.AspNetCore.Components;
using TransferHub.Web.Features.Jobs;

namespace TransferHub.Web.Features.Augmentation;

public partial class AugmentationPreview
{
    /// <summary>Variants rendered per preview.</summary>
    public const int Variants = 8;

    private ImageAt? _image;
    private ImageMatches? _matches;
    private PreviewResult? _result;
    private Rendered? _rendered;
    private long _seed = 1;
    private bool _busy;
    private bool _loading = true;
    private bool _autoPreviewed;

    /// <summary>What was rendered: the variants are stale as soon as the current choice differs from it.</summary>
    private sealed record Rendered(PreviewImage Image, AugmentationForm Augmentation, int ImageSize, bool CenterCrop, long Seed);

    /// <summary>The caller's user id (every query is filtered by their team membership).</summary>
    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    /// <summary>The dataset whose images are previewed; one the caller cannot see has none.</summary>
    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    /// <summary>The settings previewed and edited in place: <see cref="JobSettings.Augmentation"/>,
    /// <see cref="JobSettings.ImageSize"/> and <see cref="JobSettings.CenterCrop"/> (the rest is not used).</summary>
    [Parameter, EditorRequired]
    public JobSettings Settings { get; set; } = default!;

    /// <summary>The image to start with (its SHA-256); null or one not in the dataset starts with its first image.</summary>
    [Parameter]
    public string? Image { get; set; }

    /// <summary>Raised after any setting changed.</summary>
    [Parameter]
    public EventCallback Changed { get; set; }

    [Inject]
    private AugmentationPreviewService Previews { get; set; } = default!;

    private bool Stale => _rendered is not null && _image is not null
        && _rendered != new Rendered(_image.Image, Settings.Augmentation, Settings.ImageSize, Settings.CenterCrop, _seed);

    private string? SizeProblem => AugmentationPreviewService.Problems(Settings).FirstOrDefault(p => p.Field == "imageSize")?.Message;

    protected override async Task OnParametersSetAsync()
    {
        if (_image is null || Image is not null && _image.Image.Sha256 != Image)
            _image = await Previews.ImageAtAsync(UserId, DatasetId, Image);
        _loading = false;
    }

    /// <summary>Opens with variants, not an empty pane: the first image is rendered once, as soon as the page runs on the
    /// live circuit (not while pre-rendering); without a worker the pane says so, as a press of Preview would.</summary>
    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_autoPreviewed || _image is null || !RendererInfo.IsInteractive) return;
        _autoPreviewed = true;
        await PreviewAsync();
        StateHasChanged();
    }

    private async Task<IEnumerable<PreviewImage>> SearchAsync(string? text, CancellationToken cancellationToken)
    {
        _matches = await Previews.FindImagesAsync(UserId, DatasetId, text, 50, cancellationToken);
        return _matches.Images;
    }

    private async Task PickAsync(PreviewImage? image)
    {
        if (image is null) return;
        _image = await Previews.ImageAtAsync(UserId, DatasetId, image.Sha256) ?? _image;
    }

    private async Task StepAsync(int step)
    {
        if (_image is null) return;
        _image = await Previews.ImageAtAsync(UserId, DatasetId, _image.Image.Sha256, step) ?? _image;
    }

    private Task ChangedAsync() => Changed.InvokeAsync();

    private Task RerollAsync()
    {
        _seed = Random.Shared.NextInt64(1, 1_000_000);
        return PreviewAsync();
    }

    private async Task PreviewAsync()
    {
        if (_image is null) return;
        _busy = true;
        // A copy: what is rendered is what was asked for, even if a setting changes while the worker renders.
        var asked = Settings.Clone();
        var rendered = new Rendered(_image.Image, asked.Augmentation, asked.ImageSize, asked.CenterCrop, _seed);
        try
        {
            _result = await Previews.PreviewAsync(UserId, DatasetId, rendered.Image.Sha256, asked, Variants, rendered.Seed);
            _rendered = rendered;
        }
        catch (FeatureException refused)
        {
            _result = new PreviewResult([], refused.Message, null);
        }
        finally
        {
            _busy = false;
        }
    }
}
