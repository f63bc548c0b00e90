using TransferHub.Web.Features.Workers.Gateway;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>The launch form: backbones from the workers that answer now, Auto mode by default (other modes' settings
/// appear when chosen), defaults per mode, problems explained before submit. <c>?from=ID</c> starts from that run's settings.</summary>
public partial class LaunchPage
{
    private LaunchContext? _context;
    private JobSettings _settings = new();
    private List<BreadcrumbItem> _breadcrumbs = [];
    private bool _busy;

    /// <summary>The dataset to train on, from the route (<c>/datasets/{DatasetId}/train</c>); one the caller cannot train on goes back to the projects page with the reason.</summary>
    [Parameter]
    public int DatasetId { get; set; }

    /// <summary>The run to start from (<c>?from=ID</c>): its settings fill the form. Null, or a run the caller cannot see, starts from the defaults.</summary>
    [SupplyParameterFromQuery(Name = "from")]
    public int? From { get; set; }

    /// <summary>Augmentation, image size and resize mode from the standalone preview page (<c>?preview=…</c>,
    /// <see cref="Augmentation.PreviewLink"/>): the form starts in fine-tuning with them.</summary>
    [SupplyParameterFromQuery(Name = Augmentation.PreviewLink.QueryName)]
    public string? Preview { get; set; }

    [Inject]
    private JobService Jobs { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    private int? Stages => _context?.Backbones.FirstOrDefault(b => b.Name == _settings.Backbone)?.Stages;

    private IReadOnlyList<Contracts.Jobs.JobProblem> Problems => _settings.Problems(Stages);

    protected override async Task OnParametersSetAsync()
    {
        try
        {
            _context = await Jobs.LaunchContextAsync(UserId, DatasetId);
        }
        catch (FeatureException refused)
        {
            Snackbar.Add(refused.Message, Severity.Error);
            Navigation.NavigateTo("projects");
            return;
        }
        _breadcrumbs = [new("Projects", "projects"), new(_context.ProjectName, $"projects/{_context.ProjectId}"),
            new(_context.DatasetName, $"datasets/{DatasetId}"), new("Train", null, disabled: true)];
        var first = _context.Backbones.FirstOrDefault();
        _settings = JobSettings.ForMode(TrainingMode.Auto, first?.Name ?? "", first?.InputSize ?? Contracts.Jobs.JobDefaults.ImageSize,
            _context.AutoBudget.Seconds);
        if (From is { } from)
        {
            try
            {
                _settings = await Jobs.SettingsAsync(UserId, from);
            }
            catch (FeatureException)
            {
                // An unknown run: start from the defaults.
            }
        }
        if (Augmentation.PreviewLink.Decode(Preview) is { } previewed)
        {
            if (_settings.Mode != TrainingMode.FineTune) ModeChanged(TrainingMode.FineTune);
            _settings.UsePreviewed(previewed);
        }
    }

    /// <summary>Opens the augmentation preview with the form's settings; "Use these settings" brings its augmentation,
    /// image size and resize mode back into the form.</summary>
    private async Task OpenPreviewAsync()
    {
        if (await Augmentation.AugmentationPreviewDialog.OpenAsync(Dialogs, UserId, DatasetId, _settings) is { } chosen)
            _settings.UsePreviewed(chosen);
    }

    /// <summary>A child changed the settings in place: this re-renders the form (problems, summary).</summary>
    private static void SettingsChanged()
    {
    }

    /// <summary>After a blocker's fix ("Split now"): the dataset's counts and blockers again, the form's settings kept.</summary>
    private async Task ReloadContextAsync()
    {
        if (await TryAsync(async () => _context = await Jobs.LaunchContextAsync(UserId, DatasetId)))
            StateHasChanged();
    }

    private void BackboneChanged(string name)
    {
        _settings.Backbone = name;
        if (_context?.Backbones.FirstOrDefault(b => b.Name == name) is { } backbone)
        {
            _settings.ImageSize = backbone.InputSize;
            _settings.UnfreezeStages = Math.Min(_settings.UnfreezeStages, backbone.Stages);
        }
    }

    /// <summary>Switching mode brings that mode's defaults, keeping the backbone, image size and seed.</summary>
    [Inject]
    private LearningRateFinderService Finder { get; set; } = default!;

    private bool _finding;
    private LearningRateCurve? _lrCurve;
    private string? _lrProblem;
    private CancellationTokenSource? _lrCancel;

    /// <summary>Runs the learning-rate range test for the form's settings on a worker and shows its curve; "Stop"
    /// cancels it (the worker stops within a batch).</summary>
    private async Task FindLearningRateAsync()
    {
        _finding = true;
        _lrCurve = null;
        _lrProblem = null;
        using var cancel = _lrCancel = new CancellationTokenSource();
        try
        {
            await TryAsync(async () =>
            {
                try
                {
                    var found = await Finder.FindAsync(UserId, DatasetId, _settings, cancellationToken: cancel.Token);
                    (_lrCurve, _lrProblem) = (found.Curve, found.Problem);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    _lrProblem = "Stopped: no learning rate was suggested.";
                }
            }, null);
        }
        finally
        {
            _finding = false;
            _lrCancel = null;
        }
    }

    private void StopFindingLearningRate() => _lrCancel?.Cancel();

    private void UseLearningRate(double rate) => _settings.LearningRate = double.Parse(rate.ToString("G2", System.Globalization.CultureInfo.InvariantCulture),
        System.Globalization.CultureInfo.InvariantCulture);

    private void ModeChanged(TrainingMode mode)
    {
        _lrCurve = null;
        _lrProblem = null;
        var fresh = JobSettings.ForMode(mode, _settings.Backbone, _settings.ImageSize, _context!.AutoBudget.Seconds);
        fresh.Seed = _settings.Seed;
        fresh.Repeats = _settings.Repeats;
        _settings = fresh;
    }

    private async Task LaunchAsync()
    {
        _busy = true;
        IReadOnlyList<int> ids = [];
        try
        {
            if (await TryAsync(async () => ids = await Jobs.LaunchAsync(UserId, DatasetId, _settings),
                    ids.Count > 1 ? "Runs queued." : "Run queued.", doneOnNextPage: true))
                Navigation.NavigateTo(ids.Count == 1 ? $"runs/{ids[0]}" : $"projects/{_context!.ProjectId}/runs");
        }
        finally
        {
            _busy = false;
        }
    }
}
