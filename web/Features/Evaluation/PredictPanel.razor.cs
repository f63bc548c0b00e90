using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.JSInterop;

namespace TransferHub.Web.Features.Evaluation;

/// <summary>"Test an image" for a finished run (or an ensemble): up to <see cref="TestImageBatch.MaxImages"/> images per
/// batch, tested one after another through <see cref="EvaluationService"/> (which authorizes through TeamAccess), each card
/// updated as its answer and heatmap arrive.</summary>
public partial class PredictPanel
{
    private IReadOnlyList<TestedImage> _images = [];
    private string? _note;
    private bool _busy, _dragging;
    private InputFile? _input;
    private IJSObjectReference? _module;
    private DotNetObjectReference<PredictPanel>? _self;

    [Inject]
    private EvaluationService Evaluations { get; set; } = default!;

    [Inject]
    private IJSRuntime Js { get; set; } = default!;

    /// <summary>The caller's user id; the predictions are made as them.</summary>
    [Parameter, EditorRequired] public string UserId { get; set; } = "";
    /// <summary>The finished run whose model (an ensemble: whose members' models) classifies the images.</summary>
    [Parameter, EditorRequired] public int JobId { get; set; }
    /// <summary>The run's classes, offered as an image's true class.</summary>
    [Parameter, EditorRequired] public IReadOnlyList<string> ClassNames { get; set; } = [];
    /// <summary>The run is an ensemble: no heatmaps (no single model), no "unknown" threshold.</summary>
    [Parameter] public bool IsEnsemble { get; set; }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender || _input?.Element is not { } input) return;
        _self = DotNetObjectReference.Create(this);
        _module = await Js.InvokeAsync<IJSObjectReference>("import", "./Features/Evaluation/PredictPanel.razor.js");
        await _module.InvokeVoidAsync("attachPaste", input, _self);
    }

    /// <summary>Called by the page's paste listener when the clipboard held no image (text or a link, which are not fetched).</summary>
    [JSInvokable]
    public Task PastedNoImageAsync(bool hadText) => InvokeAsync(() =>
    {
        _note = hadText
            ? "The clipboard holds text, not an image: links are not fetched. Copy the image itself (for example, right-click it → Copy image) and paste again."
            : "The clipboard holds no image to test.";
        StateHasChanged();
    });

    private async Task FilesChangedAsync(InputFileChangeEventArgs e)
    {
        if (_busy) return;
        var files = e.FileCount == 0 ? [] : e.GetMultipleFiles(e.FileCount);
        var (images, note) = TestImageBatch.Admit([.. files.Select(f => new TestImageFile(f.Name, f.Size, f.ContentType))]);
        _images = images;
        _note = note;
        _busy = true;
        try
        {
            foreach (var image in images.Where(i => i.State == TestImageState.Waiting))
            {
                await TestAsync(image, files[image.Index]);
                StateHasChanged();
            }
        }
        finally
        {
            _busy = false;
        }
    }

    /// <summary>Reads, classifies and explains one image; a refusal stays on its card and the batch goes on.</summary>
    private async Task TestAsync(TestedImage image, IBrowserFile file)
    {
        image.State = TestImageState.Classifying;
        StateHasChanged();
        try
        {
            using var buffer = new MemoryStream();
            await using (var stream = file.OpenReadStream(TestImageBatch.MaxBytes))
                await stream.CopyToAsync(buffer);
            image.Bytes = buffer.ToArray();
            image.Result = await Evaluations.PredictAsync(UserId, JobId, image.Bytes);
            if (image.Bytes.Length <= TestImageBatch.MaxPreviewBytes)
                image.Preview = $"data:{(file.ContentType.StartsWith("image/", StringComparison.Ordinal) ? file.ContentType : "image/png")};base64,{Convert.ToBase64String(image.Bytes)}";
        }
        catch (UnusableImageException unusable)
        {
            image.Refuse(unusable.Why); // the card names the file: "notes.txt: this is not an image…"
            return;
        }
        catch (FeatureException refused)
        {
            image.Refuse(refused.Message);
            return;
        }
        catch (IOException e)
        {
            image.Refuse($"the browser could not send the file ({e.Message}).");
            return;
        }
        await ExplainAsync(image);
    }

    private Task TrueClassChangedAsync(TestedImage image, string? trueClass)
    {
        image.TrueClass = trueClass;
        return ExplainAsync(image);
    }

    /// <summary>The predicted class's heatmap, with the chosen true class's beside it (left) when they differ. Ensembles have none.</summary>
    private async Task ExplainAsync(TestedImage image)
    {
        if (IsEnsemble || image.Bytes is null || image.Result is not { Top.Count: > 0 } result)
        {
            if (image.State != TestImageState.Refused) image.State = TestImageState.Done;
            return;
        }
        image.State = TestImageState.Explaining;
        image.ExplainProblem = null;
        StateHasChanged();
        try
        {
            image.Explanation = await Evaluations.ExplainAsync(UserId, JobId, image.Bytes, TestImageBatch.ExplainedClasses(result.Top[0].ClassName, image.TrueClass));
        }
        catch (FeatureException refused)
        {
            image.Explanation = null;
            image.ExplainProblem = $"No heatmap: {refused.Message}";
        }
        finally
        {
            image.State = TestImageState.Done;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_module is not null)
        {
            try
            {
                if (_input?.Element is { } input) await _module.InvokeVoidAsync("detachPaste", input);
                await _module.DisposeAsync();
            }
            catch (JSDisconnectedException)
            {
                // The circuit is gone, and the page's listeners with it.
            }
        }
        _self?.Dispose();
        GC.SuppressFinalize(this);
    }
}
