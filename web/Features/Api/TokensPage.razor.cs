using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;
using TransferHub.Web.Components.Shared;

namespace TransferHub.Web.Features.Api;

/// <summary>The user's personal access tokens: create (the secret is shown once, with a copy button), list, revoke.</summary>
public partial class TokensPage
{
    private static readonly (int Days, string Label)[] ExpiryChoices = [(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), (0, "never")];

    private IReadOnlyList<TokenView>? _tokens;
    private CreatedToken? _created;
    private string _name = "";
    private int _days = 90;
    private bool _busy;

    [Inject]
    private PersonalAccessTokenService Tokens { get; set; } = default!;

    [Inject]
    private TimeProvider Clock { get; set; } = default!;

    [Inject]
    private IJSRuntime Js { get; set; } = default!;

    private DateTime Now => Clock.GetUtcNow().UtcDateTime;

    private static string When(DateTime utc) => utc.ToLocalTime().ToString("d MMM yyyy HH:mm", System.Globalization.CultureInfo.InvariantCulture);

    protected override async Task OnParametersSetAsync() => _tokens = await Tokens.ListAsync(UserId);

    private async Task CreateAsync()
    {
        if (_busy || string.IsNullOrWhiteSpace(_name))
            return;
        _busy = true;
        DateTime? expires = _days > 0 ? Now.AddDays(_days) : null;
        if (await TryAsync(async () => _created = await Tokens.CreateAsync(UserId, _name, expires)))
        {
            _name = "";
            _tokens = await Tokens.ListAsync(UserId);
        }
        _busy = false;
    }

    private async Task CopyAsync()
    {
        if (_created is null)
            return;
        try
        {
            await Js.InvokeVoidAsync("navigator.clipboard.writeText", _created.Secret);
            Snackbar.Add("Token copied.", Severity.Success);
        }
        catch (JSException)
        {
            Snackbar.Add("The browser did not allow copying: select the token and copy it by hand.", Severity.Warning);
        }
    }

    private async Task RevokeAsync(TokenView token)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, "Revoke token",
                $"Revoke \"{token.Name}\" ({token.Hint})? Scripts using it get 401 from their next call. This cannot be undone.",
                "Revoke", Color.Error))
            return;
        _busy = true;
        if (await TryAsync(() => Tokens.RevokeAsync(UserId, token.Id), $"\"{token.Name}\" revoked."))
        {
            if (_created?.Token.Id == token.Id)
                _created = null;
            _tokens = await Tokens.ListAsync(UserId);
        }
        _busy = false;
    }
}
