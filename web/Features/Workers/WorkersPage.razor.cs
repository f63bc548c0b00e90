using Microsoft.AspNetCore.Components;
using MudBlazor;
using TransferHub.Web.Components.Shared;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Workers;

public partial class WorkersPage
{
    private IReadOnlyList<WorkerSummary>? _workers;
    private string _name = "";
    private string _address = "";
    private string _token = "";
    private bool _busy;

    [Inject]
    private WorkerRegistryService Workers { get; set; } = default!;

    [Inject]
    private WorkerMonitor Monitor { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        await base.OnInitializedAsync();
        Monitor.Changed += OnWorkersChanged;
    }

    protected override async Task OnParametersSetAsync() => _workers = await Workers.ListAsync(UserId);

    /// <summary>The monitor saw a worker come or go, change its offer or its current runs: show it without a reload.</summary>
    private void OnWorkersChanged() => _ = InvokeAsync(async () =>
    {
        try
        {
            _workers = await Workers.ListAsync(UserId);
            StateHasChanged();
        }
        catch (Exception e)
        {
            await DispatchExceptionAsync(e);
        }
    });

    public void Dispose()
    {
        Monitor.Changed -= OnWorkersChanged;
        GC.SuppressFinalize(this);
    }

    /// <summary>"2026-11-29 19:14:05": ISO 8601 order (no day/month ambiguity), in the server's time zone like the app's other times.</summary>
    public static string LastSeen(DateTime utc) =>
        utc.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static Color StateColor(WorkerSummary worker) => worker.State switch
    {
        "online" => Color.Success,
        "busy" => Color.Primary,
        "offline" => Color.Error,
        "draining" => Color.Warning,
        _ => Color.Default,
    };

    private async Task RegisterAsync()
    {
        _busy = true;
        var id = 0;
        if (await TryAsync(async () => id = await Workers.RegisterAsync(UserId, _name, _address, _token), $"Worker \"{_name.Trim()}\" registered."))
        {
            (_name, _address, _token) = ("", "", "");
            await Workers.TestConnectionAsync(UserId, id);
            _workers = await Workers.ListAsync(UserId);
        }
        _busy = false;
    }

    private async Task TestAsync(WorkerSummary worker)
    {
        _busy = true;
        ConnectionTest? result = null;
        if (await TryAsync(async () => result = await Workers.TestConnectionAsync(UserId, worker.Id)))
            Snackbar.Add(result!.Message, result.Ok ? Severity.Success : Severity.Error);
        _workers = await Workers.ListAsync(UserId);
        _busy = false;
    }

    private async Task ToggleEnabledAsync(WorkerSummary worker)
    {
        if (await TryAsync(() => Workers.SetEnabledAsync(UserId, worker.Id, !worker.Enabled)))
            _workers = await Workers.ListAsync(UserId);
    }

    private async Task ToggleDrainingAsync(WorkerSummary worker)
    {
        if (await TryAsync(() => Workers.SetDrainingAsync(UserId, worker.Id, !worker.Draining)))
            _workers = await Workers.ListAsync(UserId);
    }

    private async Task RemoveAsync(WorkerSummary worker)
    {
        var confirmed = await ConfirmDialog.AskAsync(Dialogs, "Remove worker",
            $"Remove \"{worker.Name}\" ({worker.Address})? Jobs will no longer be sent to it; its token is forgotten.", "Remove", Color.Error);
        if (confirmed && await TryAsync(() => Workers.RemoveAsync(UserId, worker.Id), $"Worker \"{worker.Name}\" removed."))
            _workers = await Workers.ListAsync(UserId);
    }
}
