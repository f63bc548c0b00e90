using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using TransferHub.Web.Components.Layout;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Components.Shared;

/// <summary>Base of the signed-in pages: knows the caller's id (what every feature service takes) and turns a
/// service's refusal (<see cref="FeatureException"/>) into an error message instead of a broken circuit.
/// Load data in <c>OnParametersSetAsync</c>, which runs after the user id is known.</summary>
public abstract class FeaturePage : ComponentBase
{
    private string? _userId;
    private string? _userName;

    /// <summary>Who is calling (cascaded by the app); their user id and account name are read once, in <c>OnInitializedAsync</c>.</summary>
    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    protected ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    protected IDialogService Dialogs { get; set; } = default!;

    protected string UserId => _userId ?? throw new InvalidOperationException("The user id is known from OnInitializedAsync on.");

    /// <summary>The caller's account name (their email), for showing them to others.</summary>
    protected string UserName => _userName ?? throw new InvalidOperationException("The user name is known from OnInitializedAsync on.");

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthenticationState).User;
        _userId = user.GetUserId();
        _userName = user.Identity?.Name ?? _userId;
    }

    /// <summary>Runs a change; on refusal shows why and returns false. <paramref name="done"/> is shown on success.</summary>
    protected async Task<bool> TryAsync(Func<Task> change, string? done = null, bool doneOnNextPage = false)
    {
        try
        {
            await change();
            if (done is not null && doneOnNextPage)
                Snackbar.AddForNextPage(done); // the caller navigates next: "Run queued." belongs to the run's page
            else if (done is not null)
                Snackbar.Add(done, Severity.Success);
            return true;
        }
        catch (FeatureException refused)
        {
            Snackbar.Add(refused.Message, Severity.Error);
            return false;
        }
    }
}
